public import ProgimageAPI
package import GD

extension OperationChain {
    /// The JPEG DCT scale (1, 2, 4 or 8) that still leaves at least as many pixels as the
    /// first operation keeps, when that operation is a shrinking resize: decoding at 1/4
    /// cuts a 12 MP decode from ~36 to ~20 ms, and the remaining reduction is under 2×.
    public func shrinkOnLoadFactor(source: ImageSize) -> Int {
        guard format != .gif, let resize = operations.first as? ResizeOperation,
            let target = try? resize.outputSize(for: source)
        else { return 1 }
        // A fill needs its cover; a pad only the image inside its box (its fitted size, as
        // the fused decode plans it: a translucent border, which takes it as a resize to
        // that size, then decodes at the same scale).
        let scale = resize.mode == .fill || resize.mode == .pad ? resize.fitScale(for: source) : nil
        var needWidth = scale.map { ResizeOperation.scaled(source.width, $0) } ?? target.width
        var needHeight = scale.map { ResizeOperation.scaled(source.height, $0) } ?? target.height
        if resize.mode == .pad { (needWidth, needHeight) = (min(needWidth, target.width), min(needHeight, target.height)) }
        var factor = 1
        for candidate in [2, 4, 8] where source.width / candidate >= needWidth && source.height / candidate >= needHeight {
            factor = candidate
        }
        return factor
    }

    /// Runs the operations in URL order on an upright image whose logical size is
    /// `source` (the decoded image may be smaller after shrink-on-load), after checking
    /// every intermediate size against `maximumSide` before any pixel work. `frames` is
    /// given for the frames of an animation; `shrunkBy`, the DCT scale an upright JPEG was
    /// decoded at (the first step, a resize, maps what the decoded pixels stand for).
    /// `isAbandoned` is asked before each operation: once nobody waits for the answer, the
    /// chain stops there (a black-box tester's `resize:8192x8192,force/blur:50/blur:50`,
    /// within every limit, ran 43 s after its client had gone).
    package func applied(
        to image: consuming GDImage, source: ImageSize, maximumSide: Int, overlays: OverlaySource = .none,
        frames: FrameConsistency? = nil, origin: ImageSize? = nil, shrunkBy shrink: Int = 1,
        isAbandoned: () -> Bool = { false }
    ) throws(ServiceError) -> GDImage {
        _ = try outputSize(for: source, maximumSide: maximumSide, origin: origin)
        var logical = source
        let background: UInt32 = format.hasAlpha ? 0x7F00_0000 : 0x00FF_FFFF
        var current = image
        for (index, operation) in operations.enumerated() {
            if isAbandoned() { throw ServiceError.abandoned }
            let step = operation.kind.step
            let planned = try operation.outputSize(for: logical)
            var context = PixelContext(
                logicalInput: logical, background: background, overlays: overlays, step: index, frames: frames)
            if index == 0, shrink > 1 { context.inputExtent = ImageDecoder.dctScaledExtent(of: source, shrink: shrink) }
            current = try step.apply(to: current, planned: planned, context: context)
            logical = planned
        }
        // Shrink-on-load without a resize reaching the planned size cannot happen (the
        // factor is chosen from the first resize), but keep the contract exact anyway.
        if current.width != logical.width || current.height != logical.height {
            do {
                current = try current.scaled(width: logical.width, height: logical.height)
            } catch {
                throw error.serviceError
            }
        }
        return current
    }
}

extension OperationKind {
    /// Each operation's pixel step. Exhaustive on purpose: an operation added to
    /// `OperationKind` without a `PixelStep` here does not compile (it used to build and
    /// answer 500 at request time).
    var step: any PixelStep {
        switch self {
        case .resize(let operation): operation
        case .crop(let operation): operation
        case .rotate(let operation): operation
        case .flip(let operation): operation
        case .grayscale(let operation): operation
        case .blur(let operation): operation
        case .sharpen(let operation): operation
        case .pad(let operation): operation
        case .overlay(let operation): operation
        }
    }
}
