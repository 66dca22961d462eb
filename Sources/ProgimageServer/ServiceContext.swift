public import ProgimageDeployment
public import ProgimageAPI
public import ProgimageCore
import ObjectStorage
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
    /// Link fetches in flight at once: the api instance's threads but `threads`, so that
    /// fetches stalled on slow servers always leave threads for everything else.
    public let linkFetches: LinkFetchSlots
    /// The shared deletion log, when metadata is in PostgreSQL (several boxes).
    public let deletionLog: (any DeletionLog)?
    /// The embedded store's journal of deletes not yet finished on disk.
    public let unfinishedDeletions: (any UnfinishedDeletions)?
    /// Originals in a bucket with local copies, when an object store is configured.
    public let bucketOriginals: BucketImageStore?
    /// Held by uploads and deletes while an original on this disk has no record (embedded).
    public let originalsInFlight: OriginalsInFlight
    /// Space kept for deletes on a full data disk, when the records are in SQLite there.
    public let spaceReserve: SpaceReserve?
    /// This instance's counters, when metrics are on (`PROGIMAGE_METRICS_PORT`).
    public let metrics: InstanceMetrics?
    /// The whole box's exposition, on the api instance when metrics are on.
    public let metricsExporter: MetricsExporter?
    /// Writes made after their request's answer; waited for before the process exits.
    public let workAfterAnswers = WorkAfterAnswers()
    private let started: Double

    public init(configuration: ServiceConfiguration, role: TransformRole) throws(ServiceError) {
        self.configuration = configuration
        self.role = role
        try StartupDirectories.make([
            configuration.dataDirectory, configuration.originalsDirectory, configuration.cacheDirectory,
        ])
        let localOriginals = FileImageStore(root: configuration.originalsDirectory)
        originalsInFlight = OriginalsInFlight(configuration)
        if let url = configuration.databaseURL {
            let store = PostgresMetadataStore(pool: PostgresPool(url: url, connectTimeoutSeconds: 5, statementTimeoutSeconds: 5))
            (metadata, deletionLog, unfinishedDeletions, spaceReserve) = (store, store, nil, nil)
        } else {
            let store = try SQLiteMetadataStore(path: configuration.databasePath)
            (metadata, deletionLog, unfinishedDeletions) = (store, nil, store)
            spaceReserve = SpaceReserve(dataDirectory: configuration.dataDirectory)
        }
        if let bucket = configuration.objectStore {
            let store = BucketImageStore(
                settings: bucket, localCopies: localOriginals, maxBytes: configuration.maxUploadBytes, metadata: metadata)
            (originals, bucketOriginals) = (store, store)
        } else {
            (originals, bucketOriginals) = (localOriginals, nil)
        }
        cache = DerivedImageCache(
            root: configuration.cacheDirectory, budget: CacheBudget(root: configuration.cacheDirectory, maxBytes: configuration.cacheMaxBytes))
        renderer = DerivedImageRenderer(
            metadata: metadata, originals: originals, cache: cache, maxPixels: configuration.maxPixels,
            maxOutputSide: configuration.maxOutputSide, maxFrames: configuration.maxFrames)
        ingest = ImageIngest(
            maxUploadBytes: configuration.maxUploadBytes, maxPixels: configuration.maxPixels,
            maxFrames: configuration.maxFrames, concurrentDecodes: configuration.threads)
        keys = AccessKeys(
            apiKeys: configuration.apiKeys, signingKey: configuration.signingKey,
            openWritesWithoutKey: configuration.openWritesWithoutKey)
        linkFetcher = LinkFetcher(
            allowHosts: configuration.fetchAllowHosts, timeoutSeconds: configuration.fetchTimeoutSeconds,
            maxBytes: configuration.maxUploadBytes)
        linkFetches = LinkFetchSlots(capacity: configuration.linkFetchSlots, waitingCapacity: configuration.linkFetchWaiters)
        if configuration.metricsPort != nil {
            metrics = InstanceMetrics(directory: configuration.metricsDirectory, role: role.rawValue)
            metricsExporter =
                role == .api ? MetricsExporter(directory: configuration.metricsDirectory, cacheDirectory: configuration.cacheDirectory) : nil
        } else {
            (metrics, metricsExporter) = (nil, nil)
        }
        started = Self.monotonicSeconds()
    }

    public var uptimeSeconds: Double { Self.monotonicSeconds() - started }

    static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}

extension OriginalsInFlight {
    /// The lock of this box's originals, tracked in the embedded mode (the instances and
    /// `progimage-fcgi check` must build the same one).
    init(_ configuration: ServiceConfiguration) {
        self.init(originalsRoot: configuration.originalsDirectory, originalsAreLocal: configuration.objectStore == nil)
    }
}
