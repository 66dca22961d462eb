import POSIX
public import ProgimageAPI

/// Makes one derived file: decode the original once, run the chain in memory, encode
/// once, and write the result where nginx will find it next time.
public struct DerivedImageRenderer: Sendable {
    public let metadata: any MetadataStore
    public let originals: any ImageStore
    public let cache: DerivedImageCache
    public let pipeline: ImagePipeline
    /// Large JPEG originals' copies that decode on two threads.
    let restartMarked: RestartMarkedOriginals

    public init(
        metadata: any MetadataStore, originals: any ImageStore, cache: DerivedImageCache, maxPixels: Int, maxOutputSide: Int,
        maxFrames: Int
    ) {
        self.metadata = metadata
        self.originals = originals
        self.cache = cache
        restartMarked = RestartMarkedOriginals(cache: cache, metadata: metadata)
        pipeline = ImagePipeline(maxPixels: maxPixels, maxOutputSide: maxOutputSide, maxFrames: maxFrames)
    }

    /// A derived image: on disk (made now, or by a request that won the race), or, when
    /// the disk was full, only in memory.
    public enum Rendered: Sendable {
        /// Where the file is, relative to the cache root (`ab/cd/{id}/…`): nginx serves the
        /// answer from there.
        case stored(cachePath: String)
        /// Not kept: the answer carries the bytes, and the date the file would have had.
        case unkept(bytes: [UInt8], lastModified: Int)
    }

    /// The date a derived file carries (its mtime: nginx's `Last-Modified`, and its `ETag`
    /// with the length): the newest of what it is made from — the original's `created_at`,
    /// each overlay's, the last change of each preset it names, and the renderer itself (this
    /// executable's mtime: a new version may draw other bytes) — not the moment it was
    /// rendered. So a URL keeps its validators across evictions and renders from memory, and
    /// across boxes whose executables carry one date (a client's `If-None-Match` from one
    /// box was a 200 from the next after a failover, and a MISS answered from memory carried
    /// other validators than the HIT after it; a preset's URLs differ between boxes, each
    /// dating its presets at its own start), while a changed preset or a new install dates
    /// its files anew, later than any file an earlier one made (`If-Modified-Since` is
    /// `before`).
    public func lastModified(of record: ImageRecord, chain: OperationChain) throws(ServiceError) -> Int {
        var newest = max(Timestamp.unixSeconds(of: record.createdAt) ?? 0, Self.rendererDate)
        for overlay in chain.overlayImages {
            if let created = try metadata.record(overlay).flatMap({ Timestamp.unixSeconds(of: $0.createdAt) }) {
                newest = max(newest, created)
            }
        }
        for segment in chain.writtenSegments ?? [] where segment.hasPrefix("preset:") {
            if let changed = cache.presetChangedAt(String(segment.dropFirst("preset:".count))) { newest = max(newest, changed) }
        }
        return newest
    }

    /// This executable's mtime: when this renderer was built or installed.
    static let rendererDate: Int = Files.modificationTime(of: "/proc/self/exe") ?? 0

    /// `overlay:{id}` reads another stored image: upright, first frame, in sRGB, as 8-bit
    /// straight rows (its own, where its file has alpha; libgd's decode's otherwise).
    var overlaySource: OverlaySource {
        let maxPixels = pipeline.maxPixels
        return OverlaySource { [metadata, originals] overlay throws(ServiceError) in
            guard let record = try metadata.record(overlay) else { throw ServiceError(.notFound, "no image with id \(overlay)") }
            let bytes = try originals.read(id: overlay, format: record.format)
            try ImageDecoder.checkPixelLimit(ImageDecoder.storedSize(of: bytes, format: record.format), maxPixels: maxPixels)
            if let rows = StraightRGBA.decoded(bytes, format: record.format, maxPixels: maxPixels) { return rows }
            return StraightRGBA(try ImageDecoder.decode(bytes, format: record.format, maxPixels: maxPixels))
        }
    }

    /// The original's bytes. Missing with its record gone, a delete ran since the record
    /// was read: 404. Missing with its record there, the original was lost (removed by
    /// hand, a disk restored without it): that is no client's 404 but the service's 500,
    /// with the reason in the log, where it had answered "no image" and logged nothing.
    private func readOriginal(_ id: ImageID, format: ImageFormat) throws(ServiceError) -> [UInt8] {
        do {
            return try originals.read(id: id, format: format)
        } catch where error.code == .notFound {
            throw try missingOriginal(id, error)
        }
    }

    private func missingOriginal(_ id: ImageID, _ notFound: ServiceError) throws(ServiceError) -> ServiceError {
        guard try metadata.record(id) != nil else { return notFound }
        return ServiceError(.internalError, "the original of \(id) is recorded but missing from the store")
    }

    /// The original itself, for nginx to serve (`ImageStore.fileForNginx`): nil when its
    /// file is in place, its bytes when it cannot be; missing, as `readOriginal`.
    public func originalForNginx(id: ImageID, format: ImageFormat) throws(ServiceError) -> [UInt8]? {
        do {
            return try originals.fileForNginx(id: id, format: format)
        } catch where error.code == .notFound {
            throw try missingOriginal(id, error)
        }
    }

    /// `record` is the image's, read by the caller for this request; `isAbandoned` says when
    /// nobody waits for the answer any more (an animation stops between frames then).
    public func render(_ record: ImageRecord, chain: OperationChain, isAbandoned: () -> Bool = { false }) throws(ServiceError) -> Rendered {
        let id = record.id
        let source = ImageSize(width: record.width, height: record.height)
        // Limits and crop bounds are refused here, before the lock and before decoding.
        _ = try chain.outputSize(for: source, maximumSide: pipeline.maxOutputSide)
        let path = cache.path(id: id, chain: chain)
        let relative = String(path.dropFirst(cache.root.count + 1))
        return try cache.withLock(for: path) { () throws(ServiceError) -> Rendered in
            if cache.contains(path) { return .stored(cachePath: relative) }
            let original = try readOriginal(id, format: record.format)
            func render(_ bytes: [UInt8]) throws(ServiceError) -> [UInt8] {
                try pipeline.render(
                    bytes, format: record.format, source: source, chain: chain, overlays: overlaySource, isAbandoned: isAbandoned)
            }
            let bytes: [UInt8]
            if record.format == .jpg, let copy = restartMarked.copy(of: original, id: id, pixels: record.width * record.height) {
                // The copy decodes to the original's pixels; should it ever fail, the original
                // answers, and the copy goes.
                do throws(ServiceError) {
                    bytes = try render(copy)
                } catch where error.code != .timeout {
                    restartMarked.discard(of: id)
                    bytes = try render(original)
                }
            } else {
                bytes = try render(original)
            }
            let lastModified = try lastModified(of: record, chain: chain)
            let overlayIDs = chain.overlayImages
            // Recorded before the file exists, so a delete of an overlay always finds it; a
            // use that cannot be recorded (a full cache disk) is answered from memory, not
            // kept where the overlay's delete would not look.
            for overlay in overlayIDs where !cache.recordOverlayUse(of: overlay, by: relative) {
                return .unkept(bytes: bytes, lastModified: lastModified)
            }
            // A delete that ran while we rendered must not leave a file nginx would serve,
            // not even for a moment: the record is asked for and the file written through
            // the image's deletion gate, which its delete holds while it removes both.
            let outcome = try cache.whileNotDeleting(id) { () throws(ServiceError) -> DerivedImageCache.StoreOutcome? in
                guard try metadata.record(id) != nil else { return nil }
                let outcome = try cache.store(bytes, at: path, lastModified: lastModified)
                // No delete is under way: a folder that vanished under the write was the
                // pruner's, empty; one more write recreates it.
                return outcome == .folderVanished ? try cache.store(bytes, at: path, lastModified: lastModified) : outcome
            }
            guard let outcome else { throw ServiceError(.notFound, "no image with id \(id)") }
            for overlay in overlayIDs where try metadata.record(overlay) == nil {
                if outcome == .kept { try? Files.remove(path) }
                // The delete may have read the overlay's list of users before this render
                // added itself to it: the list would stay for good (a black-box tester found
                // it after 7 of 8 such races). The last render to get here removes it.
                cache.removeOverlayUsers(of: overlay)
                throw ServiceError(.notFound, "no image with id \(overlay)")
            }
            // Not kept (no room, or the folder vanished twice): the image anyway, from memory.
            guard outcome == .kept else { return .unkept(bytes: bytes, lastModified: lastModified) }
            return .stored(cachePath: relative)
        }
    }
}
