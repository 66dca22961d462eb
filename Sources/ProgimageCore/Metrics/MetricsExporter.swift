import POSIX
import ProgimageDeployment
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// The Prometheus text exposition of the whole box, made by the api instance on a scrape
/// of the loopback metrics port: every instance's counters (`InstanceMetrics` files), the
/// cache HITs and MISSes nginx logged (one word per answered image, `nginx-cache.log`;
/// HITs never reach an instance), and the cache's size.
public struct MetricsExporter: Sendable {
    public let directory: String
    public let cacheDirectory: String

    public init(directory: String, cacheDirectory: String) {
        self.directory = directory
        self.cacheDirectory = cacheDirectory
    }

    /// nginx's per-request log of `X-Progimage-Cache`, counted incrementally: the counts and
    /// the offset read so far live in `cache-log.state`, under `flock`, so every api process
    /// (and every recycle) continues the same totals. Past 16 MB the log is emptied (nginx
    /// appends with O_APPEND and goes on at the new end).
    struct CacheLog: Codable {
        var offset = 0
        var hits = 0
        var misses = 0
    }

    public var logPath: String { directory + "/" + ServiceConfiguration.cacheLogName }

    /// The Prometheus text exposition of every instance's counters and the cache log.
    public func prometheusText() -> String {
        var out: [String] = []
        let states = Files.entries(in: directory)?.map(\.name).filter { $0.hasSuffix(".json") }.sorted().compactMap { name in
            (try? Files.read(directory + "/" + name)).flatMap { try? JSONDecoder().decode(InstanceMetrics.State.self, from: Data($0)) }
        } ?? []

        out.append("# HELP progimage_requests_total Requests answered by an instance, by role, slot and status.")
        out.append("# TYPE progimage_requests_total counter")
        for state in states {
            for (status, count) in state.requests.sorted(by: { $0.key < $1.key }) {
                out.append("progimage_requests_total{role=\"\(state.role)\",slot=\"\(state.slot)\",status=\"\(status)\"} \(count)")
            }
        }
        out.append("# HELP progimage_request_duration_seconds Time an instance took to answer, by role and slot.")
        out.append("# TYPE progimage_request_duration_seconds histogram")
        for state in states {
            let labels = "role=\"\(state.role)\",slot=\"\(state.slot)\""
            for (index, bound) in InstanceMetrics.buckets.enumerated() {
                out.append("progimage_request_duration_seconds_bucket{\(labels),le=\"\(Self.number(bound))\"} \(state.durationBuckets[index])")
            }
            out.append("progimage_request_duration_seconds_bucket{\(labels),le=\"+Inf\"} \(state.durationBuckets.last ?? 0)")
            out.append("progimage_request_duration_seconds_sum{\(labels)} \(state.durationSum)")
            out.append("progimage_request_duration_seconds_count{\(labels)} \(state.durationCount)")
        }
        out.append("# HELP progimage_instance_restarts_total Times an instance started again (recycles and crashes).")
        out.append("# TYPE progimage_instance_restarts_total counter")
        for state in states {
            out.append("progimage_instance_restarts_total{role=\"\(state.role)\",slot=\"\(state.slot)\"} \(state.restarts)")
        }
        let log = countCacheLog()
        out.append("# HELP progimage_cache_requests_total Images answered, by whether they came from disk (hit) or were made (miss).")
        out.append("# TYPE progimage_cache_requests_total counter")
        out.append("progimage_cache_requests_total{result=\"hit\"} \(log.hits)")
        out.append("progimage_cache_requests_total{result=\"miss\"} \(log.misses)")
        let usage = CacheBudget.usedBytes(inCacheAt: cacheDirectory)
        out.append("# HELP progimage_cache_bytes Bytes the derived-image cache takes, as its budget counts them.")
        out.append("# TYPE progimage_cache_bytes gauge")
        out.append("progimage_cache_bytes \(usage)")
        return out.joined(separator: "\n") + "\n"
    }

    func countCacheLog() -> CacheLog {
        let statePath = directory + "/cache-log.state"
        return FileLock.holding(statePath + ".lock") { lock in
            guard lock != nil else { return CacheLog() }
            return countCacheLog(statePath: statePath)
        }
    }

    /// `countCacheLog`'s work, under its lock.
    private func countCacheLog(statePath: String) -> CacheLog {
        var state = (try? Files.read(statePath)).flatMap { try? JSONDecoder().decode(CacheLog.self, from: Data($0)) } ?? CacheLog()
        let fd = open(logPath, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return state }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return state }
        let size = Int(info.st_size)
        if size < state.offset { state.offset = 0 }  // emptied by someone else
        var buffer = [UInt8](repeating: 0, count: max(0, size - state.offset))
        let read = buffer.isEmpty ? 0 : pread(fd, &buffer, buffer.count, off_t(state.offset))
        // Only whole lines: nginx may be in the middle of writing the last one.
        if read > 0, let lastNewline = buffer[..<read].lastIndex(of: UInt8(ascii: "\n")) {
            for line in buffer[...lastNewline].split(separator: UInt8(ascii: "\n")) {
                if line.elementsEqual("HIT".utf8) { state.hits += 1 } else if line.elementsEqual("MISS".utf8) { state.misses += 1 }
            }
            state.offset += lastNewline + 1
        }
        if state.offset > 16 << 20, ftruncate(fd, 0) == 0 { state.offset = 0 }
        if let data = try? JSONEncoder().encode(state) {
            try? Files.writeAtomically(Array(data), to: statePath, temporaryDirectory: directory, durable: false)
        }
        return state
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
