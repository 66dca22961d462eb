/// Every `PROGIMAGE_*` variable progimage reads: the service's configuration, `make run`'s
/// own, and the client CLI's. Any other in the environment is most likely a typo
/// (`PROGIMAGE_MAX_PIXEL=10` ran with the default 100 M pixels, and nothing said so: a
/// black-box tester), and is named at start with the known name nearest to it. The start
/// goes on: a wrapper or a test harness may keep settings of its own under the prefix.
/// (A unit test holds this list to every `PROGIMAGE_*` literal under `Sources`.)
public enum KnownVariables {
    public static let names: Set<String> = [
        // API.md's configuration tables.
        "PROGIMAGE_PORT", "PROGIMAGE_DATA_DIR", "PROGIMAGE_CACHE_DIR", "PROGIMAGE_API_KEY", "PROGIMAGE_SIGNING_KEY",
        "PROGIMAGE_MAX_UPLOAD_BYTES", "PROGIMAGE_MAX_PIXELS", "PROGIMAGE_MAX_OUTPUT_SIDE", "PROGIMAGE_FETCH_ALLOW_HOSTS",
        "PROGIMAGE_FETCH_TIMEOUT_S", "PROGIMAGE_PRESETS", "PROGIMAGE_PRESETS_ONLY", "PROGIMAGE_MAX_FRAMES",
        "PROGIMAGE_DATABASE_URL", "PROGIMAGE_S3_ENDPOINT", "PROGIMAGE_S3_BUCKET", "PROGIMAGE_S3_REGION",
        "PROGIMAGE_S3_TIMEOUT_S", "PROGIMAGE_METRICS_PORT", "PROGIMAGE_RUN_DIR", "PROGIMAGE_FRONT_UPSTREAMS",
        "PROGIMAGE_CACHE_MAX_BYTES", "PROGIMAGE_CORS_ORIGINS",
        // The README's.
        "PROGIMAGE_OPEN_WRITES", "PROGIMAGE_THREADS", "PROGIMAGE_RECYCLE_REQUESTS", "PROGIMAGE_RECYCLE_RSS_BYTES",
        "PROGIMAGE_LOCAL_COPIES_MAX_BYTES",
        // Where `make run` finds its programs, and the socket a worker started by hand listens on.
        "PROGIMAGE_WORKER_BINARY", "PROGIMAGE_NGINX", "PROGIMAGE_SOCKET",
        // The client CLI's service address.
        "PROGIMAGE_URL",
    ]

    /// The `PROGIMAGE_*` names in `environment` that progimage does not read, sorted, each
    /// with the known name within two edits of it, if any (three made `PROGIMAGE_FOO` a `PROGIMAGE_PORT`).
    public static func unknown(in environment: [String: String]) -> [(name: String, nearest: String?)] {
        environment.keys.filter { $0.hasPrefix("PROGIMAGE_") && !names.contains($0) }.sorted().map { name in
            let nearest = names.map { (known: $0, distance: editDistance(name, $0)) }
                .filter { $0.distance <= 2 }
                .min { ($0.distance, $0.known) < ($1.distance, $1.known) }
            return (name, nearest?.known)
        }
    }

    /// One line for each unknown name, as the start prints them.
    public static func warnings(for environment: [String: String]) -> [String] {
        unknown(in: environment).map { name, nearest in
            "progimage: \(name) is not a variable progimage reads; ignored" + (nearest.map { " (did you mean \($0)?)" } ?? "")
        }
    }

    /// Levenshtein distance over bytes (the names are ASCII).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        var previous = Array(0...b.count)
        for (i, byte) in a.enumerated() {
            var current = [i + 1]
            for (j, other) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (byte == other ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}
