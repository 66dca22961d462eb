internal import CGD

extension GDImage {
    /// Separable tent resampling of an opaque image, whose support widens with the
    /// reduction. `gdImageScale` does the same work in doubles through a generic
    /// contribution table (8.7 ms for 1068×712 → 800×533 here, most of a thumbnail's
    /// scaling cost); this does it in 8.8 fixed point on 16-bit lanes in 1.3 ms. Only for
    /// images without transparency, where averaging unpremultiplied colours is exact;
    /// images with alpha keep libgd's path.
    consuming func tentResampled(width: Int, height: Int, extent: (width: Double, height: Double)? = nil) throws(GDError) -> GDImage {
        guard let scaled = gdImageCreateTrueColor(Int32(width), Int32(height)) else { throw .allocationFailed }
        let rows = cgd_rows(raw)!
        let outRows = cgd_rows(scaled)!
        SeparableConvolution.tent(sourceWidth: self.width, sourceHeight: self.height, width: width, height: height, extent: extent).run(
            sourceRow: { UnsafeRawPointer(rows[$0]!) },
            outputRow: { UnsafeMutableRawPointer(outRows[$0]!) })
        return GDImage(owning: scaled, knownOpaque: true)
    }

    /// Resamples packed B,G,R,X rows (the JPEG decoder's output) straight to the target size,
    /// without first building a full-size libgd image of them: the JPEG thumbnail path
    /// decodes at 1/4 and goes directly to the output size. Reductions past
    /// `SeparableConvolution.exactReduction` do build one, for `scaled`'s area pre-shrink.
    /// `extent`: what the rows stand for (`scaled(width:height:extent:)`).
    public static func tentResampled(
        bgrx pixels: [UInt8], width sourceWidth: Int, height sourceHeight: Int, stride: Int, toWidth width: Int,
        toHeight height: Int, extent: (width: Double, height: Double)? = nil
    ) throws(GDError) -> GDImage {
        guard sourceWidth > 0, sourceHeight > 0, width > 0, height > 0, stride >= sourceWidth * 4,
            pixels.count >= stride * (sourceHeight - 1) + sourceWidth * 4
        else { throw .allocationFailed }
        if sourceWidth > width * SeparableConvolution.exactReduction
            || sourceHeight > height * SeparableConvolution.exactReduction
        {
            // A 12 MP JPEG to 1×1 is ~1,070 taps a pass even after a 1/8 decode: `scaled`
            // area-averages first.
            return try GDImage(width: sourceWidth, height: sourceHeight, pixels: pixels, stride: stride, layout: .bgrx)
                .scaled(width: width, height: height, extent: extent)
        }
        guard let scaled = gdImageCreateTrueColor(Int32(width), Int32(height)) else { throw .allocationFailed }
        let outRows = cgd_rows(scaled)!
        pixels.withUnsafeBytes { buffer in
            let base = buffer.baseAddress!
            SeparableConvolution.tent(
                sourceWidth: sourceWidth, sourceHeight: sourceHeight, width: width, height: height, extent: extent
            ).run(
                sourceRow: { base + $0 * stride },
                outputRow: { UnsafeMutableRawPointer(outRows[$0]!) })
        }
        return GDImage(owning: scaled, knownOpaque: true)
    }

    /// Packed R,G,B rows (a PNG decoder's) scaled as `GDImage(…, layout: .rgb).scaled(…)`
    /// scales them, to the same pixels, without the full-size libgd image where the tent
    /// alone does the reduction: 2 MP → 512 px skips an 8 MB image and its fill (~1.5 ms of
    /// ~33). Reductions that `scaled` area pre-shrinks first (`areaPreShrink`) build it.
    public static func scaled(
        rgb pixels: [UInt8], width sourceWidth: Int, height sourceHeight: Int, toWidth width: Int, toHeight height: Int
    ) throws(GDError) -> GDImage {
        guard sourceWidth > 0, sourceHeight > 0, width > 0, height > 0, pixels.count >= sourceWidth * sourceHeight * 3
        else { throw .allocationFailed }
        let preShrink = areaPreShrink(from: (sourceWidth, sourceHeight), to: (width, height))
        guard width <= sourceWidth, height <= sourceHeight, width < sourceWidth || height < sourceHeight,
            preShrink.x < 2, preShrink.y < 2
        else {
            return try GDImage(width: sourceWidth, height: sourceHeight, pixels: pixels, stride: sourceWidth * 3, layout: .rgb)
                .scaled(width: width, height: height)
        }
        guard let scaled = gdImageCreateTrueColor(Int32(width), Int32(height)) else { throw .allocationFailed }
        let outRows = cgd_rows(scaled)!
        var convolution = SeparableConvolution.tent(
            sourceWidth: sourceWidth, sourceHeight: sourceHeight, width: width, height: height)
        convolution.sourceIsRGB = true
        pixels.withUnsafeBytes { buffer in
            let base = buffer.baseAddress!
            convolution.run(
                sourceRow: { base + $0 * sourceWidth * 3 },
                outputRow: { UnsafeMutableRawPointer(outRows[$0]!) })
        }
        return GDImage(owning: scaled, knownOpaque: true)
    }

    /// A Gaussian-blurred copy of an opaque image (`self` is left as it is, for the unsharp
    /// mask). `gdImageCopyGaussianBlurred` convolves in doubles through
    /// `gdImageGetTrueColorPixel` per tap; this is the resampler's fixed-point loop with
    /// Gaussian taps. Only for images without transparency, like the tent.
    func opaqueGaussianBlurred(sigma: Double) throws(GDError) -> GDImage {
        guard let blurred = gdImageCreateTrueColor(Int32(width), Int32(height)) else { throw .allocationFailed }
        let rows = cgd_rows(raw)!
        let outRows = cgd_rows(blurred)!
        Self.gaussian(width: width, height: height, sigma: sigma).run(
            sourceRow: { UnsafeRawPointer(rows[$0]!) },
            outputRow: { UnsafeMutableRawPointer(outRows[$0]!) })
        return GDImage(owning: blurred, knownOpaque: true)
    }

    /// A Gaussian-blurred copy of an image with transparency, blurred premultiplied:
    /// colours weighted by their opacity, so the colour of fully transparent pixels (often
    /// black) does not bleed into visible ones as a dark fringe. libgd's
    /// `gdImageCopyGaussianBlurred` blurs alpha as a fourth independent channel, which
    /// does exactly that, mirrors at the edges and is ~9× slower.
    func translucentGaussianBlurred(sigma: Double) throws(GDError) -> GDImage {
        let premultiplied = try premultipliedCopy()
        guard let blurred = gdImageCreateTrueColor(Int32(width), Int32(height)) else { throw .allocationFailed }
        let result = GDImage(owning: blurred)
        let rows = cgd_rows(premultiplied.raw)!
        let outRows = cgd_rows(blurred)!
        Self.gaussian(width: width, height: height, sigma: sigma).run(
            sourceRow: { UnsafeRawPointer(rows[$0]!) },
            outputRow: { UnsafeMutableRawPointer(outRows[$0]!) }, fourthChannel: true)
        result.unpremultiply()
        return result
    }

    /// The symmetric kernel where it applies, the general loops for σ too small to have
    /// one or kernels wider than the image.
    static func gaussian(width: Int, height: Int, sigma: Double) -> any RowFilter {
        GaussianConvolution(width: width, height: height, sigma: sigma)
            ?? SeparableConvolution.gaussian(width: width, height: height, sigma: sigma)
    }

    /// A scratch copy in the convolution's layout: B, G, R multiplied by opacity, and the
    /// opacity itself (0–255) in the fourth byte, where libgd keeps 7-bit transparency.
    private func premultipliedCopy() throws(GDError) -> GDImage {
        guard let copy = gdImageCreateTrueColor(Int32(width), Int32(height)) else { throw .allocationFailed }
        let scratch = GDImage(owning: copy)
        let rows = cgd_rows(raw)!
        let outRows = cgd_rows(copy)!
        for y in 0..<height {
            let row = UnsafeRawPointer(rows[y]!).assumingMemoryBound(to: UInt32.self)
            let out = UnsafeMutableRawPointer(outRows[y]!).assumingMemoryBound(to: UInt32.self)
            for x in 0..<width {
                let p = row[x]
                let opacity = ((127 - ((p >> 24) & 0x7F)) * 255 + 63) / 127
                func channel(_ shift: UInt32) -> UInt32 { ((((p >> shift) & 0xFF) * opacity + 127) / 255) << shift }
                out[x] = opacity << 24 | channel(16) | channel(8) | channel(0)
            }
        }
        return scratch
    }

    /// Back from the premultiplied layout to libgd's, in place.
    private func unpremultiply() {
        let rows = cgd_rows(raw)!
        for y in 0..<height {
            let row = UnsafeMutableRawPointer(rows[y]!).assumingMemoryBound(to: UInt32.self)
            for x in 0..<width {
                let p = row[x]
                let opacity = p >> 24
                guard opacity > 0 else {
                    row[x] = 0x7F00_0000
                    continue
                }
                func channel(_ shift: UInt32) -> UInt32 {
                    min(255, (((p >> shift) & 0xFF) * 255 + opacity / 2) / opacity) << shift
                }
                row[x] = (127 - (opacity * 127 + 127) / 255) << 24 | channel(16) | channel(8) | channel(0)
            }
        }
    }
}
