import ProgimageAPI
import GD

/// `resize` of 8-bit straight rows, premultiplied in floats (`PremultipliedConvolution`):
/// the sizes, taps, area pre-shrink and windows of `ResizeOperation`'s libgd step, without
/// its 7-bit alpha.
extension StraightRGBA {
    /// The rows as `resize` leaves them: fit, force, pad (fitted, then centred in borders of
    /// its colour, transparent without one) or fill (covered, then the gravity's window).
    /// `smartWindow` places a smart fill's window, given how to choose it (an animation's
    /// frames share the first one's: `FrameConsistency`).
    func resized(
        by resize: ResizeOperation, smartWindow: (() -> (x: Int, y: Int)) -> (x: Int, y: Int) = { $0() }
    ) throws(ServiceError) -> StraightRGBA {
        let input = ImageSize(width: width, height: height)
        let planned = try resize.outputSize(for: input)
        switch resize.mode {
        case .fit, .force:
            return try resampled(width: planned.width, height: planned.height)
        case .pad:
            let (fitted, border) = resize.padding(for: input, planned: planned)
            return try resampled(width: fitted.width, height: fitted.height).bordered(by: border)
        case .fill:
            let cover = resize.coverSize(for: input, planned: planned)
            let (spareX, spareY) = (cover.width - planned.width, cover.height - planned.height)
            guard resize.gravity == .smart else {
                // Only the window is made, as libgd's path makes an enlargement's.
                let origin = CompassAnchor.origin(resize.gravity?.rawValue ?? "c", spareX: spareX, spareY: spareY)
                return try resampled(
                    width: cover.width, height: cover.height, window: (origin.x, origin.y, planned.width, planned.height))
            }
            guard ResizeOperation.smartCoverIsMadeWhole(cover) else {
                // The rows stand in for their enlargement, and only the window is made.
                let origin = smartWindow {
                    AttentionWindow.origin(in: self, width: planned.width, height: planned.height, cover: cover)
                }
                return try resampled(
                    width: cover.width, height: cover.height, window: (origin.x, origin.y, planned.width, planned.height))
            }
            let covered = try resampled(width: cover.width, height: cover.height)
            let origin = smartWindow { AttentionWindow.origin(in: covered, width: planned.width, height: planned.height) }
            return covered.window(x: origin.x, y: origin.y, width: planned.width, height: planned.height)
        }
    }

    /// Resampled to `width`×`height`, or only `window` of that: axes reduced 4× or more
    /// area-averaged first (`GDImage.areaPreShrink`, here as the rows are read), then the
    /// widening tent where an axis shrinks and Catmull-Rom where it grows
    /// (`SignedFilterTaps.resampling`), mapped by what the averaged rows stand for.
    func resampled(
        width: Int, height: Int, window: (x: Int, y: Int, width: Int, height: Int)? = nil
    ) throws(ServiceError) -> StraightRGBA {
        let window = window ?? (0, 0, width, height)
        guard width != self.width || height != self.height else {
            return self.window(x: window.x, y: window.y, width: window.width, height: window.height)
        }
        let factors = GDImage.areaPreShrink(from: (self.width, self.height), to: (width, height))
        let averaged = (width: (self.width + factors.x - 1) / factors.x, height: (self.height + factors.y - 1) / factors.y)
        let extent = (width: Double(self.width) / Double(factors.x), height: Double(self.height) / Double(factors.y))
        let convolution = PremultipliedConvolution(
            sourceWidth: averaged.width,
            horizontal: .resampling(
                source: averaged.width, target: width, samples: window.x..<(window.x + window.width), extent: extent.width),
            vertical: .resampling(
                source: averaged.height, target: height, samples: window.y..<(window.y + window.height), extent: extent.height))
        let (sourceWidth, sourceHeight) = (self.width, self.height)
        return try convolved(by: convolution) { bytes, y, columns, target in
            if factors == (1, 1) {
                PremultipliedConvolution.premultiplied(
                    bytes + (y * sourceWidth + columns.lowerBound) * 4, count: columns.count, into: target)
            } else {
                Self.areaAveraged(
                    row: y, columns: columns, of: bytes, width: sourceWidth, height: sourceHeight, factors: factors, into: target)
            }
        }
    }

    /// The rows `convolution` makes of these, whose source rows `sourceRow` writes from
    /// these bytes (premultiplied: `PremultipliedConvolution.SourceRow`).
    func convolved(
        by convolution: PremultipliedConvolution,
        sourceRow: (UnsafePointer<UInt8>, Int, Range<Int>, UnsafeMutablePointer<SIMD4<Float>>) -> Void
    ) throws(ServiceError) -> StraightRGBA {
        let (outWidth, outHeight) = (convolution.width, convolution.height)
        let (bytes, overflow) = (outWidth * 4).multipliedReportingOverflow(by: outHeight)
        guard !overflow, outWidth > 0, outHeight > 0 else {
            throw ServiceError(.imageTooLarge, "\(outWidth)x\(outHeight) is too large to make")
        }
        var out = [UInt8](repeating: 0, count: bytes)
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                let (from, to) = (source.baseAddress!, target.baseAddress!)
                convolution.run(
                    sourceRow: { y, columns, row in sourceRow(from, y, columns, row) },
                    outputRow: { y, columns, row in
                        PremultipliedConvolution.straightened(
                            row, count: columns.count, into: to + (y * outWidth + columns.lowerBound) * 4)
                    })
            }
        }
        return StraightRGBA(pixels: out, width: outWidth, height: outHeight)
    }

    /// Columns `columns` of row `row` of the area average in `factors` blocks (the last ones
    /// partial) of `width`×`height` straight bytes, premultiplied: the mean of premultiplied
    /// pixels is the area average, where averaging straight colours let invisible ones
    /// darken edges.
    private static func areaAveraged(
        row: Int, columns: Range<Int>, of bytes: UnsafePointer<UInt8>, width: Int, height: Int, factors: (x: Int, y: Int),
        into target: UnsafeMutablePointer<SIMD4<Float>>
    ) {
        for i in 0..<columns.count { target[i] = .zero }
        let rows = (row * factors.y)..<min(height, (row + 1) * factors.y)
        let sourceColumns = (columns.lowerBound * factors.x)..<min(width, columns.upperBound * factors.x)
        for y in rows {
            let line = bytes + y * width * 4
            for x in sourceColumns {
                target[x / factors.x - columns.lowerBound] += PremultipliedConvolution.premultiplied(line + 4 * x)
            }
        }
        for i in columns {
            let blockColumns = min(width, (i + 1) * factors.x) - i * factors.x
            target[i - columns.lowerBound] *= 1 / Float(blockColumns * rows.count)
        }
    }

    /// The region at (x, y) of `width`×`height`, inside the image.
    func window(x: Int, y: Int, width: Int, height: Int) -> StraightRGBA {
        if x == 0, y == 0, width == self.width, height == self.height { return self }
        var out = [UInt8](repeating: 0, count: width * height * 4)
        for row in 0..<height {
            let from = ((y + row) * self.width + x) * 4
            out.replaceSubrange((row * width * 4)..<((row + 1) * width * 4), with: pixels[from..<(from + width * 4)])
        }
        return StraightRGBA(pixels: out, width: width, height: height)
    }

    /// These rows as a libgd image (alpha in its 7 bits): for rows found opaque, whose
    /// encoders and opaque paths are libgd's.
    func libgdImage() throws(ServiceError) -> GDImage {
        do {
            return try GDImage(width: width, height: height, pixels: pixels, stride: width * 4, layout: .rgba)
        } catch {
            throw error.serviceError
        }
    }
}
