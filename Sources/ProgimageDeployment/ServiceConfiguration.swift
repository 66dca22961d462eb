import PostgreSQL
public import ProgimageAPI
#if canImport(Glibc)
import Glibc
#endif

/// Every `PROGIMAGE_*` setting, parsed in one place. Development and systemd read the
/// same variables (systemd from an `EnvironmentFile`).
public struct ServiceConfiguration: Sendable {
    /// nginx's loopback port in development.
    public var port: Int = 8080
    /// Originals and the SQLite database: precious. Absolute.
    public var dataDirectory: String
    /// Derived files: disposable, regenerated on demand. Absolute.
    public var cacheDirectory: String
    /// Bearer keys accepted for POST and DELETE.
    public var apiKeys: [String] = []
    /// Whether writes are open when no key is set. Unset: open (`make run`); the systemd
    /// units set `PROGIMAGE_OPEN_WRITES=0`, so a production install without a key refuses
    /// writes until the administrator sets a key or opts in with `1`.
    public var openWritesWithoutKey = true
    /// HMAC key for `?sig=` on cache misses; nil means no signing.
    public var signingKey: String?
    /// Largest accepted image (upload or fetched), in bytes.
    public var maxUploadBytes: Int = 52_428_800
    /// Largest accepted source width × height, checked from the header before decoding.
    public var maxPixels: Int = 100_000_000
    /// Largest output side of a transform.
    public var maxOutputSide: Int = 8192
    /// Most frames an animation may have (and frames × pixels at most 10 × `maxPixels`).
    public var maxFrames: Int = Self.defaultMaxFrames
    /// Hosts or CIDRs link ingest may reach even though they are private or loopback.
    public var fetchAllowHosts: [String] = []
    /// Link ingest time limit, in seconds.
    public var fetchTimeoutSeconds: Int = 10
    /// Worker threads per instance; defaults to the number of cores.
    public var threads: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    /// Link fetches the api instance runs at once (`LinkFetchSlots`): each holds a thread
    /// for as long as its server takes, up to `fetchTimeoutSeconds`.
    public var linkFetchSlots: Int { max(6, threads * 3) }
    /// Link ingests that may wait for a fetch slot at once, each holding a thread: with the
    /// slots, enough for a burst of 16 quick links from one client on two cores
    /// (`test_a_burst_of_quick_links_is_all_stored`). Not more with the cores: the slots
    /// grow, and the api's threads stay within the units' `TasksMax=64` up to 8 cores
    /// (24 + 12 + 8).
    public var linkFetchWaiters: Int { 12 }
    /// The api instance's threads: the link fetches' slots and waiters, and `threads` more
    /// that links never hold, so that metadata, lists and other uploads are answered however
    /// many links stall on slow servers (with as many threads as cores, six stalled fetches
    /// had held a metadata read for 29.5 s); it still decodes only `threads` images at once.
    public var apiThreads: Int { linkFetchSlots + linkFetchWaiters + threads }
    /// A worker exits gracefully after this many requests (0 = never) and its supervisor
    /// starts a fresh one: a safety net that hands back whatever a codec library leaked or
    /// the heap kept (it was libgd 2.3.3's ~1.2 MB per AVIF encode, libgd #831, before AVIF
    /// went through libheif).
    public var recycleAfterRequests: Int = 2000
    /// …or once its resident memory passes this many bytes (0 = never), checked after
    /// each request.
    public var recycleAboveResidentBytes: Int = 1 << 30
    /// The cache budget `progimage-fcgi prune` keeps `cacheDirectory` under.
    public var cacheMaxBytes: Int = 10 << 30
    /// Where the development stack keeps sockets, nginx's config and logs.
    public var runDirectory: String?
    /// PostgreSQL connection URI; nil keeps the metadata in SQLite in `dataDirectory`.
    public var databaseURL: String?
    /// The bucket holding the originals; nil keeps them on local disk only. With it,
    /// `originalsDirectory` is a disposable read-through copy.
    public var objectStore: ObjectStoreSettings?
    /// With an object store: the budget `progimage-fcgi prune` keeps the local copies of
    /// the originals under (they are fetched again on demand). Never applied without one.
    public var localCopiesMaxBytes: Int = 10 << 30
    /// Browser origins (`https://app.example.com`) that may POST and DELETE; nil when unset
    /// (then any origin under `make run`, none in the production site).
    public var corsOrigins: [String]?
    /// Named chains for `preset:{name}` (`PROGIMAGE_PRESETS`), and presets-only mode.
    public var presets: PresetTable = .none
    /// Loopback port of the Prometheus endpoint (`/metrics`); nil: none.
    public var metricsPort: Int?
    /// The boxes behind the front door (`make run-front`), `host:port` each.
    public var frontUpstreams: [String] = []

    /// Reads the environment; an unparsable value stops the process at start rather than
    /// running with a guess.
    public init(environment: [String: String], workingDirectory: String = Self.currentDirectory()) throws(ConfigurationError) {
        // A value that is not UTF-8 arrives with U+FFFD for its bad bytes: a directory so
        // read would be another directory, a key another key.
        // The value is not repeated: it may be a key or a password.
        for (name, value) in environment.sorted(by: { $0.key < $1.key })
        where name.hasPrefix("PROGIMAGE_") && value.unicodeScalars.contains("\u{FFFD}") {
            throw ConfigurationError(variable: name, value: "(not shown)", expected: "UTF-8 text (its bytes are not)")
        }
        func absolute(_ path: String) -> String {
            path.hasPrefix("/") ? path : workingDirectory + "/" + path
        }
        func nonEmpty(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        /// A directory nginx's configuration names: written there unquoted, a blank, `;`,
        /// quote, brace or `#` had nginx refuse it with a message naming no variable, and
        /// `$` would be read as an nginx variable (a black-box tester).
        func directory(_ name: String, _ path: String) throws(ConfigurationError) -> String {
            let path = absolute(path)
            guard !path.contains(where: { $0.isWhitespace || $0.asciiValue.map({ $0 < 0x20 || $0 == 0x7F }) == true || "\"';{}$\\#".contains($0) })
            else {
                let unset = nonEmpty(name) == nil ? " (unset: the default under the working directory; set it, or work elsewhere)" : ""
                throw ConfigurationError(
                    variable: name, value: path,
                    expected: "a directory path without blanks, control characters or any of \" ' ; { } $ \\ #\(unset)")
            }
            return path
        }
        func integer(_ name: String, range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            guard let value = Int(text), range.contains(value) else {
                throw ConfigurationError(variable: name, value: text, expected: "an integer in \(range)")
            }
            return value
        }
        func list(_ name: String) -> [String] {
            (environment[name] ?? "").split(separator: ",").map { $0.trimming(" \t") }.filter { !$0.isEmpty }
        }

        dataDirectory = try directory("PROGIMAGE_DATA_DIR", nonEmpty("PROGIMAGE_DATA_DIR") ?? "var/data")
        cacheDirectory = try directory("PROGIMAGE_CACHE_DIR", nonEmpty("PROGIMAGE_CACHE_DIR") ?? "var/cache")
        port = try integer("PROGIMAGE_PORT", range: 1...65535) ?? port
        apiKeys = list("PROGIMAGE_API_KEY")
        // Set to blanks or commas only (a template's placeholder, a key lost in quoting), the
        // variable would leave writes open to everyone while the operator believes them keyed.
        // Empty stays "unset", as for every other variable.
        if let text = environment["PROGIMAGE_API_KEY"], !text.isEmpty, apiKeys.isEmpty {
            throw ConfigurationError(variable: "PROGIMAGE_API_KEY", value: text, expected: "one or more keys, comma-separated")
        }
        // A key is sent in a header: one with a line break, a tab or a blank inside, or a
        // character beyond ASCII, is one no client can send as written, and every write was
        // 401 whatever key came (a black-box tester's `ab\ncd`).
        if apiKeys.contains(where: { !$0.allSatisfy({ $0.isASCII && ("!"..."~").contains($0) }) }) {
            throw ConfigurationError(
                variable: "PROGIMAGE_API_KEY", value: "(not shown)",
                expected: "keys of printable ASCII without blanks or line breaks inside, comma-separated")
        }
        switch environment["PROGIMAGE_OPEN_WRITES"] ?? "" {
        case "", "1": openWritesWithoutKey = true
        case "0": openWritesWithoutKey = false
        case let other: throw ConfigurationError(variable: "PROGIMAGE_OPEN_WRITES", value: other, expected: "0 or 1")
        }
        signingKey = nonEmpty("PROGIMAGE_SIGNING_KEY")
        // A key with a line break is a file's last newline kept by mistake: no client signing
        // with the key as written would ever match.
        if let signingKey, signingKey.contains(where: \.isNewline) {
            throw ConfigurationError(variable: "PROGIMAGE_SIGNING_KEY", value: "(not shown)", expected: "a key without line breaks")
        }
        // Blanks at either end are a quoting slip, and a key of blanks alone (a template's
        // placeholder) signed every URL for anyone who guessed it (a black-box tester), as a
        // blank PROGIMAGE_API_KEY would have opened writes.
        if let signingKey, signingKey.trimming(" \t") != signingKey {
            throw ConfigurationError(
                variable: "PROGIMAGE_SIGNING_KEY", value: "(not shown)", expected: "a key without blanks at either end")
        }
        maxUploadBytes = try integer("PROGIMAGE_MAX_UPLOAD_BYTES", range: 1...(1 << 40)) ?? maxUploadBytes
        maxPixels = try integer("PROGIMAGE_MAX_PIXELS", range: 1...(1 << 40)) ?? maxPixels
        maxOutputSide = try integer("PROGIMAGE_MAX_OUTPUT_SIDE", range: 1...65535) ?? maxOutputSide
        maxFrames = try integer("PROGIMAGE_MAX_FRAMES", range: 1...100_000) ?? maxFrames
        fetchAllowHosts = list("PROGIMAGE_FETCH_ALLOW_HOSTS")
        // A mistyped entry would otherwise match nothing, silently: the fetch it was meant
        // to allow fails at request time with a message about private addresses.
        if let invalid = HostAllowList(fetchAllowHosts).invalidEntries.first {
            throw ConfigurationError(
                variable: "PROGIMAGE_FETCH_ALLOW_HOSTS", value: invalid,
                expected: "host names, addresses or CIDR blocks (10.0.0.0/8), comma-separated")
        }
        // One link's fetch and the upload's store must end before nginx stops waiting for the
        // api (its 300 s, less the 10 s the insert keeps): a longer limit was never honoured,
        // the client had nginx's 504 at 300 s (a black-box tester).
        fetchTimeoutSeconds = try integer("PROGIMAGE_FETCH_TIMEOUT_S", range: 1...290) ?? fetchTimeoutSeconds
        threads = try integer("PROGIMAGE_THREADS", range: 1...256) ?? threads
        recycleAfterRequests = try integer("PROGIMAGE_RECYCLE_REQUESTS", range: 0...Int(Int32.max)) ?? recycleAfterRequests
        recycleAboveResidentBytes =
            try integer("PROGIMAGE_RECYCLE_RSS_BYTES", range: 0...(1 << 40)) ?? recycleAboveResidentBytes
        cacheMaxBytes = try integer("PROGIMAGE_CACHE_MAX_BYTES", range: 0...(1 << 50)) ?? cacheMaxBytes
        runDirectory = try nonEmpty("PROGIMAGE_RUN_DIR").map { path throws(ConfigurationError) in try directory("PROGIMAGE_RUN_DIR", path) }
        databaseURL = try Self.databaseURL(environment["PROGIMAGE_DATABASE_URL"])
        objectStore = try Self.objectStore(environment)
        if let text = environment["PROGIMAGE_CORS_ORIGINS"], !text.isEmpty {
            let origins = list("PROGIMAGE_CORS_ORIGINS")
            for origin in origins where !Self.isOrigin(origin) {
                throw ConfigurationError(
                    variable: "PROGIMAGE_CORS_ORIGINS", value: origin, expected: "origins such as https://app.example.com, comma-separated")
            }
            corsOrigins = origins
        }
        localCopiesMaxBytes = try integer("PROGIMAGE_LOCAL_COPIES_MAX_BYTES", range: 0...(1 << 50)) ?? localCopiesMaxBytes
        metricsPort = try integer("PROGIMAGE_METRICS_PORT", range: 1...65535)
        if let metricsPort, metricsPort == port {
            // Two nginx servers on one port: the public one wins and /metrics is a 404.
            throw ConfigurationError(
                variable: "PROGIMAGE_METRICS_PORT", value: String(metricsPort), expected: "a port other than PROGIMAGE_PORT's")
        }
        let presetsOnly: Bool
        switch environment["PROGIMAGE_PRESETS_ONLY"] ?? "" {
        case "", "0": presetsOnly = false
        case "1": presetsOnly = true
        case let other: throw ConfigurationError(variable: "PROGIMAGE_PRESETS_ONLY", value: other, expected: "0 or 1")
        }
        switch PresetTable.parse(environment["PROGIMAGE_PRESETS"] ?? "", presetsOnly: presetsOnly) {
        case .success(let table): presets = table
        case .failure(let problem):
            throw ConfigurationError(variable: "PROGIMAGE_PRESETS", value: problem.entry, problem: problem.reason)
        }
        frontUpstreams = list("PROGIMAGE_FRONT_UPSTREAMS")
        for upstream in frontUpstreams where !Self.isHostAndPort(upstream) {
            throw ConfigurationError(variable: "PROGIMAGE_FRONT_UPSTREAMS", value: upstream, expected: "host:port entries, comma-separated")
        }
        // A box named twice took twice the share of images, which nobody asks for by
        // repeating a name (a black-box probe found it taken silently).
        for (index, upstream) in frontUpstreams.enumerated()
        where frontUpstreams[..<index].contains(where: { $0.lowercased() == upstream.lowercased() }) {
            throw ConfigurationError(variable: "PROGIMAGE_FRONT_UPSTREAMS", value: upstream, expected: "each box once")
        }
    }

    /// The first of `frontUpstreams` that names this machine (a loopback or unspecified
    /// address, `localhost`) at `port`: a front door listening there would send every
    /// request to itself, round after round.
    public func frontUpstreamLoopingTo(port: Int) -> String? {
        frontUpstreams.first { upstream in
            guard let split = Self.hostAndPort(upstream), split.port == port else { return false }
            let host = split.host.lowercased()
            return host == "localhost" || host.hasPrefix("127.") || host == "[::1]" || host == "0.0.0.0" || host == "[::]"
        }
    }

    /// `scheme://host[:port]`, lower-case, no path: what a browser sends as `Origin`.
    private static func isOrigin(_ text: String) -> Bool {
        let scheme = text.hasPrefix("https://") ? "https://" : text.hasPrefix("http://") ? "http://" : nil
        guard let scheme else { return false }
        let rest = text.dropFirst(scheme.count)
        return !rest.isEmpty
            && rest.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":" || $0 == "[" || $0 == "]") }
    }

    /// `host:port` split at the last `:`, when what follows it is a port in range.
    private static func hostAndPort(_ text: String) -> (host: Substring, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = PortNumber.parse(text[text.index(after: colon)...]) else { return nil }
        return (text[..<colon], port)
    }

    /// `host:port` with a host of letters, digits, dots and dashes (or `[v6]`), a port in range.
    private static func isHostAndPort(_ text: String) -> Bool {
        guard let host = hostAndPort(text)?.host else { return false }
        if host.hasPrefix("[") && host.hasSuffix("]") { return host.count > 2 && host.dropFirst().dropLast().allSatisfy { $0.isHexDigit || $0 == ":" } }
        return !host.isEmpty && host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }
    }

    /// A PostgreSQL URI whose hosts and ports parse, whose parameters that libpq reads as
    /// one of a few words are one of them, and which libpq's own parser takes (syntax,
    /// percent-encoding, parameter names, integers): a port that is not a number, a space
    /// in a host or `?sslmode=requre` would otherwise start a box that refuses every write
    /// as if the database were down (libpq judges them only when it connects). Whether the
    /// database is there is the connection's to find. The value is not repeated: it may
    /// hold a password.
    private static func databaseURL(_ text: String?) throws(ConfigurationError) -> String? {
        guard let text, !text.isEmpty else { return nil }
        let scheme = ["postgresql://", "postgres://"].first { text.hasPrefix($0) }
        guard let scheme, hostsParse(text.dropFirst(scheme.count)) else {
            throw ConfigurationError(
                variable: "PROGIMAGE_DATABASE_URL", value: "…", expected: "a postgresql://user:pass@host:port/db URI")
        }
        if let problem = parameterProblem(text) ?? PostgresConnectionString.problem(in: text) {
            throw ConfigurationError(variable: "PROGIMAGE_DATABASE_URL", value: "…", expected: problem)
        }
        return text
    }

    /// The words libpq 15 takes for its enumerated connection parameters.
    static let databaseParameterWords: [String: Set<String>] = [
        "sslmode": ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"],
        "gssencmode": ["disable", "prefer", "require"],
        "channel_binding": ["disable", "prefer", "require"],
        "target_session_attrs": ["any", "read-write", "read-only", "primary", "standby", "prefer-standby"],
    ]

    /// What is wrong with the URI's enumerated parameters, or nil.
    private static func parameterProblem(_ text: String) -> String? {
        guard let question = text.firstIndex(of: "?") else { return nil }
        for pair in text[text.index(after: question)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = parts.first.map(String.init), let words = databaseParameterWords[key] else { continue }
            let value = parts.count == 2 ? String(parts[1]) : ""
            // Percent-encoded, it is libpq's to decode and judge.
            guard words.contains(value) || value.contains("%") else { return "\(key) one of \(words.sorted().joined(separator: ", "))" }
        }
        return nil
    }

    /// Whether every `host[:port]` of a URI's authority parses (libpq takes several,
    /// comma-separated; an empty one is the local socket).
    private static func hostsParse(_ rest: Substring) -> Bool {
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        let hostList = authority.lastIndex(of: "@").map { authority[authority.index(after: $0)...] } ?? authority
        let hosts = hostList.split(separator: ",", omittingEmptySubsequences: false)
        for host in hosts where !host.isEmpty {
            var name = host
            var port: Substring = ""
            if host.hasPrefix("[") {
                guard let close = host.firstIndex(of: "]") else { return false }
                name = host[host.index(after: host.startIndex)..<close]
                let after = host[host.index(after: close)...]
                guard after.isEmpty || after.hasPrefix(":") else { return false }
                port = after.dropFirst()
                guard !name.isEmpty, name.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return false }
            } else {
                if let colon = host.firstIndex(of: ":") {
                    name = host[..<colon]
                    port = host[host.index(after: colon)...]
                }
                // Percent-encoded: a Unix socket's directory (`%2Fvar%2Frun%2Fpostgresql`).
                guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-_%".contains($0)) }) else {
                    return false
                }
            }
            if !port.isEmpty && PortNumber.parse(port) == nil { return false }
        }
        return true
    }

    /// `PROGIMAGE_S3_*` and the standard AWS credential names; all or nothing.
    private static func objectStore(_ environment: [String: String]) throws(ConfigurationError) -> ObjectStoreSettings? {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        // Checked with or without an endpoint: a bad value is refused wherever it stands
        // (`abc` had started a box without a store, to fail the day one was configured).
        var timeout = 10.0
        if let text = value("PROGIMAGE_S3_TIMEOUT_S") {
            guard let parsed = Double(text), parsed >= 0.5, parsed <= 600 else {
                throw ConfigurationError(variable: "PROGIMAGE_S3_TIMEOUT_S", value: text, expected: "seconds in 0.5…600")
            }
            timeout = parsed
        }
        // The bucket's and the region's spelling too: `b` had started a box without an
        // endpoint, to fail the day one was set (a black-box tester).
        if let bucket = value("PROGIMAGE_S3_BUCKET"), !isBucketName(bucket) {
            throw ConfigurationError(variable: "PROGIMAGE_S3_BUCKET", value: bucket, expected: "a bucket name (3–63 of a-z 0-9 . -)")
        }
        let region = value("PROGIMAGE_S3_REGION") ?? "us-east-1"
        guard region.allSatisfy({ ($0.isLetter || $0.isNumber || $0 == "-") && $0.isASCII }) else {
            throw ConfigurationError(variable: "PROGIMAGE_S3_REGION", value: region, expected: "a region name such as us-east-1")
        }
        guard let endpoint = value("PROGIMAGE_S3_ENDPOINT") else { return nil }
        // Taken apart as a fetched link is (a host, a port from 1 to 65535), with nothing
        // after it but slashes: `http://127.0.0.1:abc` had started a box whose every write
        // was 503, the object store "unavailable".
        let parts = try? URLParts(endpoint)
        guard let parts, parts.pathAndQuery.allSatisfy({ $0 == "/" }),
            !endpoint.contains("?"), !endpoint.contains("#"), !endpoint.contains(where: \.isWhitespace)
        else {
            throw ConfigurationError(
                variable: "PROGIMAGE_S3_ENDPOINT", value: endpoint,
                expected: "http(s)://host[:port] (a port from 1 to 65535), without a path or query")
        }
        guard let bucket = value("PROGIMAGE_S3_BUCKET") else {
            throw ConfigurationError(
                variable: "PROGIMAGE_S3_BUCKET", value: "", expected: "a bucket name (3–63 of a-z 0-9 . -) when PROGIMAGE_S3_ENDPOINT is set")
        }
        // The variable that is missing is the one named (the message named the access key
        // even when only the secret was unset).
        guard let accessKey = value("AWS_ACCESS_KEY_ID") else {
            throw ConfigurationError(
                variable: "AWS_ACCESS_KEY_ID", value: "", expected: "an access key id when PROGIMAGE_S3_ENDPOINT is set")
        }
        guard let secretKey = value("AWS_SECRET_ACCESS_KEY") else {
            throw ConfigurationError(
                variable: "AWS_SECRET_ACCESS_KEY", value: "", expected: "a secret access key when PROGIMAGE_S3_ENDPOINT is set")
        }
        return ObjectStoreSettings(
            endpoint: endpoint, bucket: bucket, region: region, accessKeyID: accessKey, secretAccessKey: secretKey,
            timeoutSeconds: timeout)
    }

    private static func isBucketName(_ name: String) -> Bool {
        (3...63).contains(name.count) && name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == ".") })
    }

    public static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// The largest request body: the image limit plus room for multipart framing. nginx
    /// refuses bodies over it; the api role holds each image to `maxUploadBytes` exactly.
    public var maxRequestBytes: Int { maxUploadBytes + Self.framingBytes }

    /// What a request body may hold beside its images: multipart framing and fields.
    public static let framingBytes = 1_048_576

    /// The SQLite database file inside the data directory.
    public var databasePath: String { dataDirectory + "/progimage.sqlite3" }
    /// Each instance's counters and nginx's cache log, shared by every process of the box.
    public var metricsDirectory: String { cacheDirectory + "/" + Self.metricsFolder }
    /// The folder of the cache directory holding the metrics (never served by nginx).
    public static let metricsFolder = ".metrics"
    /// nginx's log of each answered image's cache result, in the metrics folder.
    public static let cacheLogName = "nginx-cache.log"
    public var cacheLogPath: String { metricsDirectory + "/" + Self.cacheLogName }
    /// `PROGIMAGE_MAX_FRAMES` when unset.
    public static let defaultMaxFrames = 500
    /// Where originals live, sharded by the first four id characters.
    public var originalsDirectory: String { dataDirectory + "/originals" }
}

/// A `PROGIMAGE_*` value that does not parse.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let variable: String
    public let value: String
    /// What is wrong, as read after "VARIABLE=value: ".
    public let problem: String

    public init(variable: String, value: String, expected: String) {
        self.init(variable: variable, value: value, problem: "expected \(expected)")
    }

    public init(variable: String, value: String, problem: String) {
        self.variable = variable
        self.value = value
        self.problem = problem
    }

    public var description: String { "\(variable)=\(value): \(problem)" }
}
