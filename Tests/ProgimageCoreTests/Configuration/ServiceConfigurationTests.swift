@testable import ProgimageDeployment
import ObjectStorage
import Testing

@testable import ProgimageCore

/// The environment is read once, at start; a value that does not parse must stop the
/// process there, naming the variable, instead of running with a guess.
@Suite struct ServiceConfigurationTests {
    @Test func defaultsAndRelativePaths() throws {
        let config = try ServiceConfiguration(environment: [:], workingDirectory: "/srv/progimage")
        #expect(config.port == 8080)
        #expect(config.dataDirectory == "/srv/progimage/var/data")
        #expect(config.cacheDirectory == "/srv/progimage/var/cache")
        #expect(config.fetchAllowHosts.isEmpty && config.apiKeys.isEmpty && config.signingKey == nil)
    }

    @Test func valuesAreRead() throws {
        let config = try ServiceConfiguration(
            environment: [
                "PROGIMAGE_PORT": "18080", "PROGIMAGE_DATA_DIR": "/data", "PROGIMAGE_CACHE_DIR": "cache",
                "PROGIMAGE_API_KEY": "a, b,,", "PROGIMAGE_FETCH_ALLOW_HOSTS": " images.internal ,10.0.0.0/8,[::1]",
                "PROGIMAGE_MAX_OUTPUT_SIDE": "4096", "PROGIMAGE_RECYCLE_REQUESTS": "0",
            ], workingDirectory: "/srv")
        #expect(config.port == 18080)
        #expect(config.dataDirectory == "/data" && config.cacheDirectory == "/srv/cache")
        #expect(config.apiKeys == ["a", "b"])
        #expect(config.fetchAllowHosts == ["images.internal", "10.0.0.0/8", "[::1]"])
        #expect(config.maxOutputSide == 4096 && config.recycleAfterRequests == 0)
    }

    @Test(arguments: [
        ("PROGIMAGE_PORT", "80a"), ("PROGIMAGE_PORT", "0"), ("PROGIMAGE_MAX_OUTPUT_SIDE", "70000"),
        ("PROGIMAGE_THREADS", "-1"), ("PROGIMAGE_FETCH_ALLOW_HOSTS", "10.0.0.0/8,10/8"),
        ("PROGIMAGE_FETCH_ALLOW_HOSTS", "images.internal, bad host"), ("PROGIMAGE_API_KEY", " "),
        ("PROGIMAGE_API_KEY", ","), ("PROGIMAGE_API_KEY", " ,\t, "),
        // No client can send these in a header as written.
        ("PROGIMAGE_API_KEY", "ab\ncd"), ("PROGIMAGE_API_KEY", "key\n"), ("PROGIMAGE_API_KEY", "k1,a b"), ("PROGIMAGE_API_KEY", "clé"),
        ("PROGIMAGE_SIGNING_KEY", " "), ("PROGIMAGE_SIGNING_KEY", "\t"), ("PROGIMAGE_SIGNING_KEY", "key "),
        // Without an endpoint too: a bad value is refused wherever it stands.
        ("PROGIMAGE_S3_TIMEOUT_S", "abc"), ("PROGIMAGE_S3_BUCKET", "b"), ("PROGIMAGE_S3_REGION", "us east/1"),
        // Directories go into nginx's configuration as written.
        ("PROGIMAGE_DATA_DIR", "/srv/my images"), ("PROGIMAGE_CACHE_DIR", "/srv/c;ache"), ("PROGIMAGE_RUN_DIR", "/run/$x"),
        ("PROGIMAGE_DATA_DIR", "/srv/{d}"), ("PROGIMAGE_CACHE_DIR", "/srv/\"c\""), ("PROGIMAGE_RUN_DIR", "/run/#p"),
    ])
    func unparsableValuesStopTheStart(variable: String, value: String) {
        #expect {
            _ = try ServiceConfiguration(environment: [variable: value])
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.variable == variable && error.description.hasPrefix(variable + "=")
        }
    }

    /// Empty is unset, as for every variable: no keys, writes as PROGIMAGE_OPEN_WRITES says.
    @Test func anEmptyAPIKeyIsUnset() throws {
        #expect(try ServiceConfiguration(environment: ["PROGIMAGE_API_KEY": ""]).apiKeys.isEmpty)
    }

    /// `/metrics` on the public port would be shadowed by the site's own server there.
    @Test func theMetricsPortMustNotBeThePublicOne() throws {
        #expect(throws: ConfigurationError.self) {
            _ = try ServiceConfiguration(environment: ["PROGIMAGE_PORT": "18690", "PROGIMAGE_METRICS_PORT": "18690"])
        }
        #expect(try ServiceConfiguration(environment: ["PROGIMAGE_METRICS_PORT": "18691"]).metricsPort == 18691)
        #expect(throws: ConfigurationError.self) {
            _ = try ServiceConfiguration(environment: ["PROGIMAGE_METRICS_PORT": "8080"])
        }
    }

    static let bucket = [
        "PROGIMAGE_S3_ENDPOINT": "http://127.0.0.1:8333/", "PROGIMAGE_S3_BUCKET": "images",
        "AWS_ACCESS_KEY_ID": "key", "AWS_SECRET_ACCESS_KEY": "secret",
    ]

    @Test func distributedModeIsSwitchedOnByConfigurationAlone() throws {
        let embedded = try ServiceConfiguration(environment: [:])
        #expect(embedded.databaseURL == nil && embedded.objectStore == nil && embedded.frontUpstreams.isEmpty)

        var environment = Self.bucket
        environment["PROGIMAGE_DATABASE_URL"] = "postgresql://progimage:pw@db.internal:5432/progimage"
        environment["PROGIMAGE_S3_TIMEOUT_S"] = "2.5"
        environment["PROGIMAGE_FRONT_UPSTREAMS"] = "10.0.0.11:80, box2.internal:8080,[::1]:81"
        let config = try ServiceConfiguration(environment: environment)
        #expect(config.databaseURL == "postgresql://progimage:pw@db.internal:5432/progimage")
        let store = try #require(config.objectStore)
        #expect(store.endpoint == "http://127.0.0.1:8333" && store.bucket == "images" && store.region == "us-east-1")
        #expect(store.accessKeyID == "key" && store.secretAccessKey == "secret" && store.timeoutSeconds == 2.5)
        #expect(config.frontUpstreams == ["10.0.0.11:80", "box2.internal:8080", "[::1]:81"])
        // run-front listens on PROGIMAGE_PORT: a box on this machine at another port is
        // fine, the front's own port would loop.
        #expect(config.frontUpstreamLoopingTo(port: 8080) == nil)
        #expect(config.frontUpstreamLoopingTo(port: 81) == "[::1]:81")
    }

    /// What libpq and a path-style S3 endpoint take: several hosts, IPv6, a socket
    /// directory, no host at all (the local socket), parameters; a port or a trailing slash.
    @Test(arguments: [
        ("PROGIMAGE_DATABASE_URL", "postgresql://"), ("PROGIMAGE_DATABASE_URL", "postgres://u:p%40ss@db/images"),
        ("PROGIMAGE_DATABASE_URL", "postgresql://u@h1:5432,h2:5433/images?target_session_attrs=read-write"),
        ("PROGIMAGE_DATABASE_URL", "postgresql://[::1]:5432/images"),
        ("PROGIMAGE_DATABASE_URL", "postgresql://%2Fvar%2Frun%2Fpostgresql/images"),
        ("PROGIMAGE_DATABASE_URL", "postgresql:///images?host=/tmp"),
        ("PROGIMAGE_DATABASE_URL", "postgresql://db/images?sslmode=verify-full&sslrootcert=/etc/ssl/ca.pem&channel_binding=require"),
        ("PROGIMAGE_DATABASE_URL", "postgresql://progimage:pa%2Fss%40@db/images?keepalives=1&application_name=box1"),
        ("PROGIMAGE_S3_ENDPOINT", "https://s3.eu-west-1.amazonaws.com"), ("PROGIMAGE_S3_ENDPOINT", "http://[::1]:8333/"),
        ("PROGIMAGE_S3_ENDPOINT", "http://store.internal:9000"),
    ])
    func goodDistributedSettingsStart(variable: String, value: String) throws {
        var environment = Self.bucket
        environment[variable] = value
        _ = try ServiceConfiguration(environment: environment)
    }

    @Test(arguments: [
        ("PROGIMAGE_DATABASE_URL", "mysql://db/progimage"), ("PROGIMAGE_S3_ENDPOINT", "ftp://store"),
        ("PROGIMAGE_S3_ENDPOINT", "http://store/prefix"), ("PROGIMAGE_S3_BUCKET", "Images"),
        ("PROGIMAGE_S3_BUCKET", "ab"), ("PROGIMAGE_S3_TIMEOUT_S", "0"), ("PROGIMAGE_S3_REGION", "eu west"),
        ("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", ""), ("PROGIMAGE_FRONT_UPSTREAMS", "box1"),
        ("PROGIMAGE_FRONT_UPSTREAMS", "box1:0"),
        // `Int("+80")` is 80: the upstream list took it, and nginx refused the site at start.
        ("PROGIMAGE_FRONT_UPSTREAMS", "box1:+80"), ("PROGIMAGE_FRONT_UPSTREAMS", "box1:080808"),
        ("PROGIMAGE_FRONT_UPSTREAMS", "box1:80,box2:80,BOX1:80"),
        ("PROGIMAGE_S3_ENDPOINT", "http://127.0.0.1:+80"), ("PROGIMAGE_DATABASE_URL", "postgresql://a:+5432/probe"),
        // Each of these had started a box whose every write was 503 (a black-box probe).
        ("PROGIMAGE_S3_ENDPOINT", "http://127.0.0.1:abc"), ("PROGIMAGE_S3_ENDPOINT", "http://127.0.0.1:99999"),
        ("PROGIMAGE_S3_ENDPOINT", "http://:9000"), ("PROGIMAGE_S3_ENDPOINT", "http://bad host"),
        ("PROGIMAGE_S3_ENDPOINT", "http://127.0.0.1:8333?x=1"),
        ("PROGIMAGE_DATABASE_URL", "postgresql://progimage@127.0.0.1:abc/probe"),
        ("PROGIMAGE_DATABASE_URL", "postgresql://progimage@127.0.0.1:99999/probe"),
        ("PROGIMAGE_DATABASE_URL", "postgresql://progimage@bad host:5432/probe"),
        ("PROGIMAGE_DATABASE_URL", "postgresql://a:1,b:x/probe"),
        // libpq judges these only when it connects: every write was 503.
        ("PROGIMAGE_DATABASE_URL", "postgresql://progimage@127.0.0.1/probe?sslmode=bogus"),
        ("PROGIMAGE_DATABASE_URL", "postgresql://progimage@db/probe?connect_timeout=3&target_session_attrs=readwrite"),
        ("PROGIMAGE_DATABASE_URL", "postgresql://db/probe?gssencmode="),
        // libpq's own parser refuses these (a black-box probe: the box ran, every write 503).
        ("PROGIMAGE_DATABASE_URL", "postgresql://progimage:%zz@127.0.0.1:5432/probe"),
        ("PROGIMAGE_DATABASE_URL", "postgresql://progimage@127.0.0.1:5432/probe?bogus_param=1"),
        ("PROGIMAGE_DATABASE_URL", "postgresql://progimage@127.0.0.1:5432/probe?keepalives=abc"),
    ])
    func badDistributedSettingsStopTheStart(variable: String, value: String) {
        var environment = Self.bucket
        environment[variable] = value
        #expect {
            _ = try ServiceConfiguration(environment: environment)
        } throws: { error in
            (error as? ConfigurationError)?.variable == variable
        }
    }
}
