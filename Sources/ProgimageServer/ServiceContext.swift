public import ProgimageAPI
public import ProgimageCore
#if canImport(Glibc)
import Glibc
#endif

/// Everything a handler may use, built once per process and shared by its threads.
public final class ServiceContext: Sendable {
    public let configuration: ServiceConfiguration
    public let role: TransformRole
    public let metadata: any MetadataStore
    public let originals: any ImageStore
    public let cache: DerivedImageCache
    public let renderer: DerivedImageRenderer
    public let ingest: ImageIngest
    public let keys: AccessKeys
    public let linkFetcher: LinkFetcher
    private let started: Double

    public init(configuration: ServiceConfiguration, role: TransformRole) throws(ServiceError) {
        self.configuration = configuration
        self.role = role
        try FileIOSetup.makeDirectories([
            configuration.dataDirectory, configuration.originalsDirectory, configuration.cacheDirectory,
        ])
        metadata = try SQLiteMetadataStore(path: configuration.databasePath)
        originals = FileImageStore(root: configuration.originalsDirectory)
        cache = DerivedImageCache(root: configuration.cacheDirectory)
        renderer = DerivedImageRenderer(
            metadata: metadata, originals: originals, cache: cache, maxPixels: configuration.maxPixels,
            maxOutputSide: configuration.maxOutputSide)
        ingest = ImageIngest(maxUploadBytes: configuration.maxUploadBytes, maxPixels: configuration.maxPixels)
        keys = AccessKeys(apiKeys: configuration.apiKeys, signingKey: configuration.signingKey)
        linkFetcher = LinkFetcher(
            allowHosts: configuration.fetchAllowHosts, timeoutSeconds: configuration.fetchTimeoutSeconds,
            maxBytes: configuration.maxUploadBytes)
        started = Self.monotonicSeconds()
    }

    public var uptimeSeconds: Double { Self.monotonicSeconds() - started }

    static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
