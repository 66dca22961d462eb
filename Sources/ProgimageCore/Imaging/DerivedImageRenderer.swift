public import ProgimageAPI
import GD

/// Makes one derived file: decode the original once, run the chain in memory, encode
/// once, and write the result where nginx will find it next time.
public struct DerivedImageRenderer: Sendable {
    public let metadata: any MetadataStore
    public let originals: any ImageStore
    public let cache: DerivedImageCache
    public let maxPixels: Int
    public let maxOutputSide: Int

    public init(
        metadata: any MetadataStore, originals: any ImageStore, cache: DerivedImageCache, maxPixels: Int, maxOutputSide: Int
    ) {
        self.metadata = metadata
        self.originals = originals
        self.cache = cache
        self.maxPixels = maxPixels
        self.maxOutputSide = maxOutputSide
    }

    public struct Rendered: Sendable {
        public let bytes: [UInt8]
        public let etag: String
    }

    public func render(id: ImageID, chain: OperationChain) throws(ServiceError) -> Rendered {
        guard let record = try metadata.record(id) else { throw ServiceError(.notFound, "no image with id \(id)") }
        let source = ImageSize(width: record.width, height: record.height)
        // Limits and crop bounds are refused here, before the lock and before decoding.
        _ = try chain.outputSize(for: source, maximumSide: maxOutputSide)
        let path = cache.path(id: id, chain: chain)
        return try cache.withLock(for: path) { () throws(ServiceError) -> Rendered in
            if let made = cache.existing(at: path) { return Rendered(bytes: made.bytes, etag: made.etag) }
            let original = try originals.read(id: id, format: record.format)
            let image = try decodeAndRender(original, format: record.format, source: source, chain: chain)
            let bytes = try ImageEncoder.encode(image, as: chain.format, quality: chain.quality)
            let etag = try cache.store(bytes, at: path)
            // A delete that ran while we rendered must not leave a file nginx would serve.
            guard try metadata.record(id) != nil else {
                cache.removeAll(of: id)
                throw ServiceError(.notFound, "no image with id \(id)")
            }
            return Rendered(bytes: bytes, etag: etag)
        }
    }

    /// Decode once, run the chain in memory. A JPEG whose chain starts by shrinking it takes
    /// the fused path (DCT-scaled decode resampled straight to the first size); every
    /// other source is decoded upright, at a DCT scale where that helps, and then rendered.
    private func decodeAndRender(
        _ original: [UInt8], format: ImageFormat, source: ImageSize, chain: OperationChain
    ) throws(ServiceError) -> GDImage {
        let shrink = format == .jpg ? chain.shrinkOnLoadFactor(source: source) : 1
        if shrink > 1, let first = chain.operations.first as? ResizeOperation, first.mode != .fill {
            let planned = try first.outputSize(for: source)
            if let resized = try ImageDecoder.decodeJPEG(original, maxPixels: maxPixels, shrink: shrink, resizedTo: planned) {
                var rest = chain
                rest.operations.removeFirst()
                return try rest.render(resized, source: planned, maximumSide: maxOutputSide)
            }
        }
        let decoded = try ImageDecoder.decode(original, format: format, maxPixels: maxPixels, shrink: shrink)
        return try chain.render(decoded, source: source, maximumSide: maxOutputSide)
    }
}
