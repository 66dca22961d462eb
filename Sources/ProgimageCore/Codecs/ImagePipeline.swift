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
        // Fit and force land exactly on their planned size; pad is a fit plus the borders
        // that centre it in the box (a `pad` step); fill crops after scaling, so it decodes
        // at a DCT scale only.
        if let first = chain.operations.first as? ResizeOperation, first.mode != .fill,
            format == .jpg ? shrink > 1 : format == .webp
        {
            let box = try first.outputSize(for: source)
            var planned = box
            var rest = chain
            rest.operations.removeFirst()
            if first.mode == .pad {
                let scale = first.fitScale(for: source)
                planned = ImageSize(
                    width: min(box.width, ResizeOperation.scaled(source.width, scale)),
                    height: min(box.height, ResizeOperation.scaled(source.height, scale)))
                let (left, top) = ((box.width - planned.width) / 2, (box.height - planned.height) / 2)
                rest.operations.insert(
                    PadOperation(
                        top: top, right: box.width - planned.width - left, bottom: box.height - planned.height - top, left: left,
                        colour: first.padColour), at: 0)
            }
            // A WebP is decoded straight to the size (libwebp's rescaler) when that shrinks it.
            let resized =
                format == .jpg
                ? try ImageDecoder.decodeJPEG(original, maxPixels: maxPixels, shrink: shrink, resizedTo: planned)
                : planned.width < source.width && planned.height < source.height
                    ? try ImageDecoder.decodeWebP(original, maxPixels: maxPixels, resizedTo: planned) : nil
            if let resized {
                return try rest.applied(to: resized, source: planned, maximumSide: maxOutputSide, overlays: overlays)
            }
        }
        // A chain that starts with a crop decodes only the region (a centre half of 12 MP:
        // 87 → ~45 ms).
        if format == .jpg, let crop = chain.operations.first as? CropOperation {
            let region = try crop.clipped(to: source)
            if let cropped = try ImageDecoder.decodeJPEG(original, maxPixels: maxPixels, region: region) {
                var rest = chain
                rest.operations.removeFirst()
                return try rest.applied(
                    to: cropped, source: ImageSize(width: region.width, height: region.height), maximumSide: maxOutputSide,
                    overlays: overlays)
            }
        }
        let decoded = try ImageDecoder.decode(
            original, format: format, maxPixels: maxPixels, shrink: shrink,
            preferringGrey: chain.operations.first is GrayscaleOperation)
        return try chain.applied(to: decoded, source: source, maximumSide: maxOutputSide, overlays: overlays)
    }
}
