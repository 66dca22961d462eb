package import ProgimageAPI
import Dispatch
import GD

/// Decode once, run the chain in memory, encode once: everything a derived image costs
/// apart from reading the original and storing the result. Kept free of storage so that
/// `progimage-bench` times exactly the worker's path.
public struct ImagePipeline: Sendable {
    public let maxPixels: Int
    public let maxOutputSide: Int
    public let animation: AnimationBudget

    public init(maxPixels: Int, maxOutputSide: Int, maxFrames: Int = AnimationBudget.defaultMaxFrames) {
        self.maxPixels = maxPixels
        self.maxOutputSide = maxOutputSide
        animation = AnimationBudget(maxFrames: maxFrames, maxPixels: maxPixels)
    }

    /// The encoded output of `chain` applied to `original`, whose displayed size is `source`.
    /// An animated GIF or WebP stays animated in a GIF or WebP output; every other output
    /// is made from its first frame.
    package func render(
        _ original: [UInt8], format: ImageFormat, source: ImageSize, chain: OperationChain, overlays: OverlaySource = .none,
        isAbandoned: () -> Bool = { false }
    ) throws(ServiceError) -> [UInt8] {
        if let animated = try renderAnimation(
            original, format: format, source: source, chain: chain, overlays: overlays, isAbandoned: isAbandoned)
        {
            return animated
        }
        if let straight = try straightConversion(
            original, format: format, source: source, chain: chain, overlays: overlays, isAbandoned: isAbandoned)
        {
            return straight
        }
        let jpeg = format == .jpg ? try JPEGSourceHeader(original) : nil
        if let bordered = try translucentBorderAfterWork(
            original, format: format, jpeg: jpeg, source: source, chain: chain, overlays: overlays, isAbandoned: isAbandoned)
        {
            return bordered
        }
        if let jpeg, let blurred = try blurredJPEG(original, header: jpeg, chain: chain) { return blurred }
        if let jpeg, let thumbnail = try thumbnailJPEG(original, header: jpeg, source: source, chain: chain) { return thumbnail }
        let image = try decodeAndRender(
            original, format: format, jpeg: jpeg, source: source, chain: chain, overlays: overlays, isAbandoned: isAbandoned)
        if isAbandoned() { throw ServiceError.abandoned }
        return try ImageEncoder.encode(image, as: chain.format, quality: chain.quality)
    }

    /// A translucent PNG, WebP, TIFF, AVIF, HEIC, JPEG XL or BMP through any chain
    /// (`StraightRGBA.applying`) to a format that keeps alpha, or flattened on white for
    /// jpg and bmp, decoded as 8-bit RGBA rows and kept so up to the encoder: libgd's 7-bit
    /// alpha moved half of the alpha levels by one (and the flattened colours with them),
    /// and its 8-bit premultiplied filters lost the colours of faint pixels. Also any other
    /// still image inside a translucent border, through moves only. nil when it does not
    /// apply.
    private func straightConversion(
        _ original: [UInt8], format: ImageFormat, source: ImageSize, chain: OperationChain, overlays: OverlaySource,
        isAbandoned: () -> Bool
    ) throws(ServiceError) -> [UInt8]? {
        let flattened = ImageEncoder.flattenedOutputs.contains(chain.format)
        guard flattened || ImageEncoder.straightOutputs.contains(chain.format) else { return nil }
        // Flattened too: libgd's 7-bit alpha put such a border up to 2 levels off its
        // colour on white (a black-box tester).
        let translucentBorder = StraightRGBA.hasTranslucentBorder(chain.operations)
        guard translucentBorder || [.png, .webp, .tiff, .avif, .heic, .jxl, .bmp].contains(format) else { return nil }
        try ImageDecoder.checkPixelLimit(ImageDecoder.storedSize(of: original, format: format), maxPixels: maxPixels)
        let planned = try chain.outputSize(for: source, maximumSide: maxOutputSide)
        let rows: StraightRGBA
        // Rows decoded this way are used whatever they hold: moves are exact on opaque rows
        // too, filters within a level of libgd's, and returning nil decoded a declared-alpha
        // file twice.
        if let decoded = StraightRGBA.decoded(original, format: format, maxPixels: maxPixels),
            decoded.width == source.width, decoded.height == source.height
        {
            rows = decoded
        } else if translucentBorder, StraightRGBA.canMove(chain.operations) {
            // Any other image inside a translucent border, moved only (work on such an image is
            // `translucentBorderAfterWork`'s, with its cheaper decodes): libgd's rows (a GIF's
            // transparency is in 7 bits either way), and the border exact.
            let image = try ImageDecoder.decode(original, format: format, maxPixels: maxPixels)
            guard image.width == source.width, image.height == source.height else { return nil }
            rows = StraightRGBA(image)
        } else {
            return nil
        }
        if !StraightRGBA.canMove(chain.operations), StraightRGBA.libgdKeepsAlphaOfOpaque(chain.operations), !rows.isTranslucent {
            // Nothing translucent after all (an RGBA screenshot): libgd's opaque path from these
            // rows, as a file without alpha takes it, faster at blurring and sharpening
            // (4000×3000 `blur:5` 668 → 435 ms) with its pixels.
            let opaque = try rows.libgdImage()
            _ = consume rows  // not alive beside libgd's copy while the chain runs
            let image = try chain.applied(
                to: opaque, source: source, maximumSide: maxOutputSide, overlays: overlays, isAbandoned: isAbandoned)
            if isAbandoned() { throw ServiceError.abandoned }
            return try ImageEncoder.encode(image, as: chain.format, quality: chain.quality)
        }
        var straight = try rows.applying(chain.operations, overlays: overlays, isAbandoned: isAbandoned)
        if flattened { straight = straight.flattenedOnWhite() }
        guard straight.width == planned.width, straight.height == planned.height else {
            throw ServiceError(.internalError, "the steps gave \(straight.width)x\(straight.height), planned \(planned)")
        }
        if isAbandoned() { throw ServiceError.abandoned }
        return try Self.encoded(straight, chain: chain)
    }

    /// The rows encoded as they are, unless every pixel is opaque after all (an RGBA
    /// screenshot, a border of width 0): then libgd's path, from these pixels rather than
    /// a second decode, which writes what an opaque image gets (RGB, not RGBA).
    private static func encoded(_ straight: consuming StraightRGBA, chain: OperationChain) throws(ServiceError) -> [UInt8] {
        if straight.isTranslucent { return try ImageEncoder.encode(straight, as: chain.format, quality: chain.quality) }
        return try ImageEncoder.encode(try straight.libgdImage(), as: chain.format, quality: chain.quality)
    }

    /// A chain whose last operations are moves and a translucent border, after other work
    /// (`resize:400x300,pad,ff000080`, `blur:2/pad:…,ffffff80`): the work through libgd,
    /// whose rows are taken as its encoders would write them (exact while opaque), then the
    /// border on 8-bit rows, where libgd would hold its alpha in 7 bits (128 came out 129),
    /// flattened on white from there for jpg and bmp.
    /// nil when it does not apply.
    private func translucentBorderAfterWork(
        _ original: [UInt8], format: ImageFormat, jpeg: JPEGSourceHeader?, source: ImageSize, chain: OperationChain,
        overlays: OverlaySource, isAbandoned: () -> Bool
    ) throws(ServiceError) -> [UInt8]? {
        let flattened = ImageEncoder.flattenedOutputs.contains(chain.format)
        guard flattened || ImageEncoder.straightOutputs.contains(chain.format),
            chain.operations.contains(where: { ($0 as? ResizeOperation)?.mode == .pad || $0 is PadOperation })
        else { return nil }
        // A padding resize as its resize and its border, as `decodeAndRender` fuses them.
        var operations: [any ImageOperation] = []
        var size = source
        for operation in chain.operations {
            if let resize = operation as? ResizeOperation, resize.mode == .pad {
                let (planned, pad) = try Self.fusedPlan(resize, source: size)
                operations.append(ResizeOperation(width: planned.width, height: planned.height, mode: .force))
                if let pad { operations.append(pad) }
            } else {
                operations.append(operation)
            }
            size = try operation.outputSize(for: size)
        }
        guard let lastWork = operations.lastIndex(where: { !StraightRGBA.canMove([$0]) }) else { return nil }
        let moves = Array(operations[(lastWork + 1)...])
        guard StraightRGBA.hasTranslucentBorder(moves) else { return nil }
        _ = try chain.outputSize(for: source, maximumSide: maxOutputSide)
        var work = chain
        work.operations = Array(operations[...lastWork])
        // The work is rendered as a chain of its own, its last step held to the output
        // limit: where that refuses what the whole chain allows (`blur:2/pad:…/crop:…` of
        // a wider source), libgd's path. This asked the source itself to be within the
        // limit, and a 100×1 border around a 20000×1 PNG came out with alpha 129 for 128.
        guard (try? work.outputSize(for: source, maximumSide: maxOutputSide)) != nil else { return nil }
        let image = try decodeAndRender(
            original, format: format, jpeg: jpeg, source: source, chain: work, overlays: overlays, isAbandoned: isAbandoned)
        if isAbandoned() { throw ServiceError.abandoned }
        let bordered = try StraightRGBA(image).applying(moves)
        return try Self.encoded(flattened ? bordered.flattenedOnWhite() : bordered, chain: chain)
    }

    /// `blur:σ` alone from a JPEG to a JPEG: decoded, blurred and encoded down the image
    /// in one pass on two threads (`GDImage.blurredJPEG`), the same bytes as the long way.
    /// nil when it does not apply.
    private func blurredJPEG(_ original: [UInt8], header: JPEGSourceHeader, chain: OperationChain) throws(ServiceError) -> [UInt8]? {
        guard chain.format == .jpg, chain.operations.count == 1, let blur = chain.operations.first as? BlurOperation,
            header.orientation == .up
        else { return nil }
        try ImageDecoder.checkPixelLimit(header.stored, maxPixels: maxPixels)
        do {
            return try GDImage.blurredJPEG(
                original, sigma: max(0.1, blur.sigma), quality: chain.quality ?? ImageEncoder.defaultQuality(.jpg))
        } catch {
            throw error.serviceError
        }
    }

    /// A shrinking `resize` alone (fit or force) from a JPEG to a JPEG thumbnail: decoded at
    /// the DCT scale, resampled and encoded as the rows come, on three threads
    /// (`GDImage.thumbnailJPEG`), the same bytes as the long way. The encode no longer waits
    /// for the decode's last row: 12 MP to 800 px, `progimage-bench --chain` wall 18.6 →
    /// 17.7 ms. nil when it does not apply.
    private func thumbnailJPEG(
        _ original: [UInt8], header: JPEGSourceHeader, source: ImageSize, chain: OperationChain
    ) throws(ServiceError) -> [UInt8]? {
        guard chain.format == .jpg, chain.operations.count == 1,
            let resize = chain.operations.first as? ResizeOperation, resize.mode == .fit || resize.mode == .force,
            header.orientation == .up, case let shrink = header.shrink(source: source, chain: chain), shrink > 1
        else { return nil }
        let stored = header.stored
        try ImageDecoder.checkPixelLimit(stored, maxPixels: maxPixels)
        let planned = try chain.outputSize(for: source, maximumSide: maxOutputSide)
        // As `ImageDecoder.decodeJPEG(_:maxPixels:shrink:resizedTo:)`: libjpeg rounds a
        // scaled side up, and the factor leaves at least the target.
        guard planned.width <= (stored.width + shrink - 1) / shrink, planned.height <= (stored.height + shrink - 1) / shrink
        else { return nil }
        do {
            return try GDImage.thumbnailJPEG(
                original, scaleDenominator: shrink, resizedTo: planned.width, planned.height,
                quality: chain.quality ?? ImageEncoder.defaultQuality(.jpg))
        } catch {
            throw error.serviceError
        }
    }

    /// The cheapest decode the chain's first operation allows, then the rest of the chain:
    /// a first shrinking resize of a JPEG (DCT-scaled, resampled straight to the size), a
    /// still WebP (libwebp's rescaler) or an RGB PNG (resampled from the decoder's rows); a
    /// first crop of a JPEG (only its region); a first grayscale of a JPEG (only its luma);
    /// a first blur of a JPEG (blurred as it decodes). Anything else is decoded whole and
    /// upright.
    private func decodeAndRender(
        _ original: [UInt8], format: ImageFormat, jpeg: JPEGSourceHeader?, source: ImageSize, chain: OperationChain,
        overlays: OverlaySource, isAbandoned: () -> Bool
    ) throws(ServiceError) -> GDImage {
        let shrink = jpeg?.shrink(source: source, chain: chain) ?? 1
        var rest = chain
        let first = rest.operations.isEmpty ? nil : rest.operations.removeFirst()
        if let resize = first as? ResizeOperation, resize.mode != .fill,
            format == .jpg ? shrink > 1 : format == .webp || format == .png
        {
            let (planned, pad) = try Self.fusedPlan(resize, source: source)
            if let pad { rest.operations.insert(pad, at: 0) }
            let resized: GDImage?
            switch format {
            case .jpg:
                resized = try ImageDecoder.decodeJPEG(original, maxPixels: maxPixels, shrink: shrink, resizedTo: planned)
            case .webp where planned.width < source.width && planned.height < source.height:
                resized = try ImageDecoder.decodeWebP(original, maxPixels: maxPixels, resizedTo: planned)
            case .png where planned.width <= source.width && planned.height <= source.height:
                resized = try ImageDecoder.decodePNG(original, maxPixels: maxPixels, resizedTo: planned)
            default:
                resized = nil
            }
            if let resized {
                return try rest.applied(
                    to: resized, source: planned, maximumSide: maxOutputSide, overlays: overlays, origin: source,
                    isAbandoned: isAbandoned)
            }
        }
        // A centre half of 12 MP: 87 → 21 ms.
        if format == .jpg, let crop = first as? CropOperation {
            let region = try crop.clipped(to: source)
            if let cropped = try ImageDecoder.decodeJPEG(original, maxPixels: maxPixels, region: region) {
                return try rest.applied(
                    to: cropped, source: ImageSize(width: region.width, height: region.height), maximumSide: maxOutputSide,
                    overlays: overlays, origin: source, isAbandoned: isAbandoned)
            }
        }
        if format == .jpg, let blur = first as? BlurOperation,
            let blurred = try ImageDecoder.decodeJPEG(original, maxPixels: maxPixels, blurredBy: max(0.1, blur.sigma))
        {
            return try rest.applied(
                to: blurred, source: source, maximumSide: maxOutputSide, overlays: overlays, isAbandoned: isAbandoned)
        }
        let decoded = try ImageDecoder.decode(
            original, format: format, maxPixels: maxPixels, shrink: shrink, preferringGrey: first is GrayscaleOperation)
        return try chain.applied(
            to: decoded, source: source, maximumSide: maxOutputSide, overlays: overlays, shrunkBy: shrink, isAbandoned: isAbandoned)
    }

    /// Every frame through the chain and into an animated output; nil when the source or
    /// the output does not animate (a GIF or WebP of one frame is a still image).
    private func renderAnimation(
        _ original: [UInt8], format: ImageFormat, source: ImageSize, chain: OperationChain, overlays: OverlaySource,
        isAbandoned: () -> Bool
    ) throws(ServiceError) -> [UInt8]? {
        guard AnimationFrames.formats.contains(format), AnimationFrames.formats.contains(chain.format),
            // A WebP's animation decoder allocates its canvas: count its chunks first. A
            // GIF's frames come from the one block walk `AnimationFrames` makes anyway.
            format != .webp || FrameCount.of(original, format: format) > 1,
            let frames = try AnimationFrames(original, format: format, maxPixels: maxPixels), frames.frameCount > 1
        else { return nil }
        let output = try chain.outputSize(for: source, maximumSide: maxOutputSide)
        try animation.check(frames: frames.frameCount, size: source)
        if let area = frames.decodedArea { try animation.check(decodedArea: area) }
        // Every step's frames, not only the output's: `resize:1600x1600/resize:84x84` of a
        // 400-frame 100×100 GIF made 400 frames of 1600² on the way, 22 s of a worker, where
        // the output alone was within the budget (a black-box tester).
        for step in try chain.stepSizes(for: source) { try animation.check(frames: frames.frameCount, size: step) }
        guard let encoder = try AnimationEncoder(
            format: chain.format, canvas: output, loopCount: frames.loopCount, playsOnce: frames.playsOnce,
            quality: chain.quality)
        else { return nil }
        let shared = FrameConsistency()
        let sharedOverlays = shared.sharing(overlays)
        let maxOutputSide = maxOutputSide
        // An animated WebP with alpha and a WebP output: frames as 8-bit straight rows, as
        // a still image with alpha takes them (libgd holds alpha in 7 bits).
        if frames.hasEightBitAlpha, chain.format == .webp {
            try Self.pipelined(
                produce: { handoff throws(ServiceError) in
                    try frames.forEachStraight { frame, duration throws(ServiceError) in
                        let rendered = try frame.applying(chain.operations, overlays: sharedOverlays, frames: shared)
                        guard rendered.width == output.width, rendered.height == output.height else {
                            throw ServiceError(.internalError, "a frame came out \(rendered.width)x\(rendered.height), planned \(output)")
                        }
                        try handoff.put(rendered, durationMilliseconds: duration)
                    }
                },
                encode: { frame, duration throws(ServiceError) in try encoder.add(frame, durationMilliseconds: duration) },
                isAbandoned: isAbandoned)
        } else {
            try Self.pipelined(
                produce: { handoff throws(ServiceError) in
                    try frames.forEach { frame, duration throws(ServiceError) in
                        let rendered = try chain.applied(
                            to: frame, source: source, maximumSide: maxOutputSide, overlays: sharedOverlays, frames: shared)
                        try handoff.put(rendered, durationMilliseconds: duration)
                    }
                },
                encode: { frame, duration throws(ServiceError) in try encoder.add(frame, durationMilliseconds: duration) },
                isAbandoned: isAbandoned)
        }
        return try encoder.finished()
    }

    /// Frames made by `produce` on another thread and encoded by `encode` on this one, two
    /// at most waiting between them. A queue of its own: those target libdispatch's
    /// overcommitting pool, which starts a thread even when every core is busy, so the
    /// producer runs whoever waits for it (the global queue is as wide as the cores, and its
    /// threads may all be callers waiting here).
    private static func pipelined<Pixels: ~Copyable>(
        produce: @escaping @Sendable (FrameHandoff<Pixels>) throws(ServiceError) -> Void,
        encode: (consuming Pixels, _ durationMilliseconds: Int) throws(ServiceError) -> Void, isAbandoned: () -> Bool
    ) throws(ServiceError) {
        let handoff = FrameHandoff<Pixels>()
        DispatchQueue(label: "progimage.animation-frames").async {
            do throws(ServiceError) {
                try produce(handoff)
                handoff.finish(nil)
            } catch {
                handoff.finish(error)
            }
        }
        var failure: ServiceError?
        while let frame = handoff.take() {
            guard failure == nil, let image = frame.takeImage() else { continue }
            // Frame by frame, a long animation is the one render that can outlast nginx's
            // wait many times over (500 frames through three `blur:50`: 20 minutes after
            // nginx had answered 504): once nobody waits, it stops here.
            if isAbandoned() {
                failure = ServiceError.abandoned
                handoff.cancel()
                continue
            }
            do {
                try encode(image, frame.durationMilliseconds)
            } catch {
                failure = error
                handoff.cancel()
            }
        }
        if let failure = failure ?? handoff.failure { throw failure }
    }

    /// The size a decoder that resamples while decoding must produce for a first fit, force
    /// or pad, and for pad the borders that then centre it in the box. (Fill crops after
    /// scaling: it only decodes at a DCT scale.)
    private static func fusedPlan(
        _ resize: ResizeOperation, source: ImageSize
    ) throws(ServiceError) -> (planned: ImageSize, pad: PadOperation?) {
        let box = try resize.outputSize(for: source)
        guard resize.mode == .pad else { return (box, nil) }
        let (fitted, border) = resize.padding(for: source, planned: box)
        return (fitted, border)
    }
}

extension ServiceError {
    /// nginx closed the request's connection (its client left, or its own wait ran out):
    /// the render stops at its next step, an operation or a frame.
    static let abandoned = ServiceError(.timeout, "nobody waits for this image any more: rendering stopped")
}
