/// A parsed transform: pixel operations in URL order, then output options.
public struct OperationChain: Sendable, CustomStringConvertible {
    /// At most `maximumOperations`, applied left to right to the upright image.
    public var operations: [any ImageOperation]
    /// Encoder quality 1–100; only for formats where `acceptsQuality`.
    public var quality: Int?
    public var format: ImageFormat
    /// For a chain with `preset:` segments: its pixel segments as written (presets by name,
    /// every other operation canonical), which is what the URL's canonical path prints.
    public var writtenSegments: [String]?

    public static let maximumOperations = 8

    public init(operations: [any ImageOperation] = [], quality: Int? = nil, format: ImageFormat) {
        self.operations = operations
        self.quality = quality
        self.format = format
    }

    /// The canonical path below `/images/{id}`: `/crop:0,0,10,10/resize:5x.webp`, or
    /// `.webp` for a plain conversion. The cache file's name, what a signature signs and
    /// where a non-canonical spelling is redirected: it must not change for a given chain.
    public var canonicalPath: String { canonicalOperations + ".\(format.rawValue)" }

    /// The canonical path's operations, before the extension: empty, or `/op/…`.
    public var canonicalOperations: String {
        var segments = writtenSegments ?? operations.map(\.segment)
        if writtenSegments == nil, let quality { segments.append("quality:\(quality)") }
        return segments.isEmpty ? "" : "/" + segments.joined(separator: "/")
    }

    /// The images the chain draws as overlays, in URL order: deleting any of them makes
    /// the chain's every URL a 404.
    public var overlayImages: [ImageID] { operations.compactMap { ($0 as? OverlayOperation)?.image } }

    /// For logs and messages: the canonical path.
    public var description: String { canonicalPath }

    /// The instance type that serves this chain: its last pixel operation's, else `convert`.
    public var role: TransformRole {
        operations.last.map { TransformRole(rawValue: type(of: $0).name)! } ?? .convert
    }

    /// The size after each operation, in order, unchecked (an animation's budget holds every
    /// one of them; `outputSize` holds them to the output limit).
    public func stepSizes(for source: ImageSize) throws(ServiceError) -> [ImageSize] {
        var sizes: [ImageSize] = []
        var size = source
        for operation in operations {
            size = try operation.outputSize(for: size)
            sizes.append(size)
        }
        return sizes
    }

    /// The size of the result for a source of `size`, checked against the output limit
    /// and the format's own maximum before any pixel work.
    ///
    /// The limit is the output's: a step on the way may be as large as the source, or as the
    /// largest output (`flip:h/resize:100x` of a 9000×100 image was refused for its flip),
    /// in sides and in pixels, so that no step needs more memory than the larger of them.
    /// `origin`: the uploaded image's size when `source` is already a step on the way (a
    /// first resize or crop fused into the decode), whose allowance is the upload's.
    public func outputSize(for source: ImageSize, maximumSide: Int, origin: ImageSize? = nil) throws(ServiceError) -> ImageSize {
        var size = source
        let origin = origin ?? source
        let stepSide = max(maximumSide, origin.width, origin.height, source.width, source.height)
        let stepPixels = max(maximumSide * maximumSide, origin.width * origin.height, source.width * source.height)
        for (index, (operation, step)) in zip(operations, try stepSizes(for: source)).enumerated() {
            size = step
            let side = max(size.width, size.height)
            let (pixels, overflow) = size.width.multipliedReportingOverflow(by: size.height)
            if index == operations.count - 1 ? side > maximumSide : side > stepSide || overflow || pixels > stepPixels {
                throw ServiceError(
                    .imageTooLarge, "\(operation.segment) gives \(size), over the \(maximumSide)-pixel output limit")
            }
        }
        guard max(size.width, size.height) <= format.maximumSide else {
            throw ServiceError(
                .imageTooLarge, "\(size) does not fit in \(format.rawValue) (at most \(format.maximumSide) per side)")
        }
        return size
    }
}
