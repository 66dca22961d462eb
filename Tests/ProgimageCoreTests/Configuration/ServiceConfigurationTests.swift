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
        ("PROGIMAGE_FETCH_ALLOW_HOSTS", "images.internal, bad host"),
    ])
    func unparsableValuesStopTheStart(variable: String, value: String) {
        #expect {
            _ = try ServiceConfiguration(environment: [variable: value])
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.variable == variable && error.description.hasPrefix(variable + "=")
        }
    }
}
