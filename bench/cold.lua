-- wrk script: every request a distinct URL, PREFIX .. n .. SUFFIX with n = BASE, BASE+1, ...
-- interleaved across wrk threads (so no URL is asked twice), and a JSON summary at the end.
-- usage: wrk -tT ... -s cold.lua URL -- PREFIX SUFFIX BASE T
local next_id = 0

function setup(thread)
    thread:set("tid", next_id)
    next_id = next_id + 1
end

function init(args)
    prefix = args[1]
    suffix = args[2]
    base = tonumber(args[3])
    nthreads = tonumber(args[4])
    count = 0
end

function request()
    local n = base + tid + count * nthreads
    count = count + 1
    return wrk.format("GET", prefix .. n .. suffix)
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        'WRKJSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %.1f}\n',
        summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean))
end
