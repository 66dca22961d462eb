public import ProgimageAPI
import GD

/// Decode once, run the chain in memory, encode once: everything a derived image costs
/// apart from reading the original and storing the result. Kept free of storage so that
/// `progimage-bench` times exactly the worker's path.
public struct ImagePipeline: Sendable {
    public let maxPixels: Int
    public let maxOutputSide: Int

    public init(maxPixels: Int, maxOutputSide: Int) {
        self.maxPixels = maxPixels
        self.maxOutputSide = maxOutputSide
    }

    /// The encoded output of `chain` applied to `original`, whose displayed size is `source`.
    public func render(
        _ original: [UInt8], format: ImageFormat, source: ImageSize, chain: OperationChain, overlays: OverlaySource = .none
    ) throws(ServiceError) -> [UInt8] {
        let image = try decodeAndRender(original, format: format, source: source, chain: chain, overlays: overlays)
        return try ImageEncoder.encode(image, as: chain.format, quality: chain.quality)
    }

    /// A JPEG whose chain starts by shrinking it takes the fused path (DCT-scaled decode
    /// resampled straight to the first size); every other source is decoded upright, at a
    /// DCT scale where that helps, and then rendered.
    private func decodeAndRender(
        _ original: [UInt8], format: ImageFormat, source: ImageSize, chain: OperationChain, overlays: OverlaySource
    ) throws(ServiceError) -> GDImage {
        let shrink = format == .jpg ? chain.shrinkOnLoadFactor(source: source) : 1
        // Fit and force land exactly on their planned size; fill and pad take further steps.
        if shrink > 1, let first = chain.operations.first as? ResizeOperation, first.mode == .fit || first.mode == .force {
            let planned = try first.outputSize(for: source)
            if let resized = try ImageDecoder.decodeJPEG(original, maxPixels: maxPixels, shrink: shrink, resizedTo: planned) {
                var rest = chain
                rest.operations.removeFirst()
                return try rest.applied(to: resized, source: planned, maximumSide: maxOutputSide, overlays: overlays)
            }
        }
        let decoded = try ImageDecoder.decode(original, format: format, maxPixels: maxPixels, shrink: shrink)
        return try chain.applied(to: decoded, source: source, maximumSide: maxOutputSide, overlays: overlays)
    }
}
