internal import CGD
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Geometry steps. Each consumes the image and returns the result, which is the same
/// image when libgd works in place and a new one when it allocates.
extension GDImage {
    /// Resamples to exactly `width`×`height`. Large reductions are first area-averaged down
    /// to the last 2–4× (`boxShrunk`, `areaPreShrink`); the rest uses a tent whose support
    /// widens with the reduction, mapped by what the pre-shrunk image stands for (its last
    /// block may be partial), since bilinear and nearest filters alias badly on reduction
    /// (measured with libgd 2.3.3: 1-px stripes keep a std-dev of 127 with BILINEAR_FIXED vs
    /// 5.6 with TRIANGLE). Enlargements are Catmull-Rom. Opaque reductions take `tentResampled`'s
    /// 16-bit lanes; the rest `resampled(_:width:height:)`, premultiplied when translucent
    /// (libgd's `gdImageScale` is no longer used: see there why).
    ///
    /// `extent`: how many of its own pixels the image stands for, when that is not its
    /// size: a JPEG decoded at 1/8 has ⌈1601 / 8⌉ = 201 columns for 200.125 columns' worth
    /// of picture (its last column is a partial block), and resampling it as 201 full ones
    /// stretched the content towards the far edges, by 4 source pixels at the last column
    /// (29.6 dB against a bicubic of the same file, 45.6 from the same pixels as a PNG).
    public consuming func scaled(
        width: Int, height: Int, extent: (width: Double, height: Double)? = nil
    ) throws(GDError) -> GDImage {
        let stands = extent ?? (Double(self.width), Double(self.height))
        if width == self.width, height == self.height, stands == (Double(width), Double(height)) { return self }
        let opaque = isOpaque
        if width <= self.width, height <= self.height, opaque {
            // The tent widens with the reduction, so the area pre-shrink is for speed and
            // leaves 2–4× to it: a full integer shrink misaligns the last partial block
            // (29.8 dB against Lanczos at 9×, 33+ dB this way). Per axis only where the tent
            // would otherwise get more taps than it rounds exactly (`force` can shrink one
            // side 6000× and leave the other alone).
            let factors = Self.areaPreShrink(from: (self.width, self.height), to: (width, height))
            let extent = (stands.width / Double(factors.x), stands.height / Double(factors.y))
            return try boxShrunk(byX: factors.x, byY: factors.y).tentResampled(width: width, height: height, extent: extent)
        }
        // The opaque path's pre-shrink: area-averaged down to the last 2–4×, then the tent
        // (a whole-ratio box, as before, scored 31.7 dB against Pillow's tent at 9×, 38.9
        // this way). An axis that grows is left alone, and one that `force` reduces far is
        // area-averaged even when the other grows, or the tent spans every row (20,000 → 1
        // kept 20,000 rows of the output's width).
        let factors = Self.areaPreShrink(from: (self.width, self.height), to: (width, height))
        let extent = (stands.width / Double(factors.x), stands.height / Double(factors.y))
        return try boxShrunk(byX: factors.x, byY: factors.y).resampled(width: width, height: height, translucent: !opaque, extent: extent)
    }

    /// The window of an enlargement to `width`×`height` (what `fill` keeps of its cover),
    /// the same pixels as `scaled` then `cropped`, without making the rest: a 1×300,000
    /// image covering 8192×1 was an 8192 × 2.4 billion cover first. Enlargements only (a
    /// reduction's cover is no larger than the image).
    public consuming func scaledWindow(
        width: Int, height: Int, window: (x: Int, y: Int, width: Int, height: Int)
    ) throws(GDError) -> GDImage {
        guard width >= self.width, height >= self.height else {
            return try scaled(width: width, height: height).cropped(x: window.x, y: window.y, width: window.width, height: window.height)
        }
        if width == self.width, height == self.height {
            return try cropped(x: window.x, y: window.y, width: window.width, height: window.height)
        }
        return try throughPremultiplied(!isOpaque) { Self.resampled($0, width: width, height: height, window: window) }
    }

    /// The area pre-shrink `scaled` applies before the tent of an opaque reduction (1 on an
    /// axis: none), so that a path resampling from other rows can tell when the tent alone
    /// gives `scaled`'s pixels.
    package static func areaPreShrink(from source: (width: Int, height: Int), to target: (width: Int, height: Int)) -> (x: Int, y: Int) {
        let ratioX = source.width / max(1, target.width), ratioY = source.height / max(1, target.height)
        let ratio = min(ratioX, ratioY)
        let common = ratio >= 4 ? ratio / 2 : 1
        return (max(common, exactTentFactor(ratioX)), max(common, exactTentFactor(ratioY)))
    }

    /// The smallest area pre-shrink that leaves a tent at most
    /// `SeparableConvolution.exactReduction` to do.
    static func exactTentFactor(_ ratio: Int) -> Int {
        (ratio + SeparableConvolution.exactReduction - 1) / SeparableConvolution.exactReduction
    }

    /// `translucent` as `scaled` found the source: its area average keeps what transparency
    /// there was, so the pixels need not be scanned again.
    private consuming func resampled(
        width: Int, height: Int, translucent: Bool, extent: (width: Double, height: Double)
    ) throws(GDError) -> GDImage {
        if width == self.width, height == self.height, extent == (Double(width), Double(height)) { return self }
        return try throughPremultiplied(translucent) { Self.resampled($0, width: width, height: height, extent: extent) }
    }

    /// The region at (x, y) of `width`×`height`, which the caller has already clamped to
    /// the image. The corresponding C function is `gdImageCrop`.
    public consuming func cropped(x: Int, y: Int, width: Int, height: Int) throws(GDError) -> GDImage {
        if x == 0, y == 0, width == self.width, height == self.height { return self }
        var rect = gdRect(x: Int32(x), y: Int32(y), width: Int32(width), height: Int32(height))
        guard let cropped = gdImageCrop(raw, &rect) else { throw .allocationFailed }
        return GDImage(owning: cropped)
    }

    /// Rotates clockwise by `degrees` (0–359). Multiples of 90 are exact pixel moves
    /// (`quarterTurned`, or a flip both ways for 180); other angles give the bounding box,
    /// w·|cos| + h·|sin| by w·|sin| + h·|cos| rounded (as `RotateOperation` plans it),
    /// filled with `background` (packed gd colour, e.g. fully transparent 0x7F000000)
    /// around the bilinear resampling of `GDImage+Rotation`.
    public consuming func rotated(clockwise degrees: Int, background: UInt32) throws(GDError) -> GDImage {
        let degrees = ((degrees % 360) + 360) % 360
        switch degrees {
        case 0: return self
        case 90, 270: return try quarterTurned(clockwise: degrees == 90)
        case 180: return flipped(horizontally: true, vertically: true)
        default: break
        }
        let radians = Double(degrees) * .pi / 180
        let (c, s) = (abs(cos(radians)), abs(sin(radians)))
        let (w, h) = (Double(width), Double(height))
        return try rotated(
            clockwise: degrees, background: background, width: max(1, Int((w * c + h * s).rounded())),
            height: max(1, Int((w * s + h * c).rounded())))
    }

    /// A quarter turn as a transpose in square tiles, so that both the rows read and the
    /// columns written stay in cache. libgd's `gdImageRotate90`/`270` read through a pixel
    /// getter and write a whole column per source row (~52 ms for 12 MP here; EXIF
    /// orientations 5–8, every portrait phone photo, take this path before any operation).
    /// Bands of source rows go to two threads; each writes only its own target columns.
    private consuming func quarterTurned(clockwise: Bool) throws(GDError) -> GDImage {
        let (width, height) = (self.width, self.height)
        guard let turned = gdImageCreateTrueColor(Int32(height), Int32(width)) else { throw .allocationFailed }
        let rows = TurnRows(source: cgd_rows(raw)!, target: cgd_rows(turned)!)
        let tile = 32
        let bands = (height + tile - 1) / tile
        let parts = width * height >= twoThreadPixels ? 2 : 1
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            for band in bands * part / parts..<bands * (part + 1) / parts {
                let top = band * tile
                for left in stride(from: 0, to: width, by: tile) {
                    for y in top..<min(top + tile, height) {
                        let row = rows.source[y]!
                        // Clockwise, (x, y) lands at (height-1-y, x); counter-clockwise at (y, width-1-x).
                        if clockwise {
                            for x in left..<min(left + tile, width) { rows.target[x]![height - 1 - y] = row[x] }
                        } else {
                            for x in left..<min(left + tile, width) { rows.target[width - 1 - x]![y] = row[x] }
                        }
                    }
                }
            }
        }
        return GDImage(owning: turned, knownOpaque: knownOpaque)
    }

    /// Mirrors in place. The corresponding C functions are `gdImageFlip{Horizontal,Vertical,Both}`.
    public consuming func flipped(horizontally: Bool, vertically: Bool) -> GDImage {
        switch (horizontally, vertically) {
        case (true, true): gdImageFlipBoth(raw)
        case (true, false): gdImageFlipHorizontal(raw)
        case (false, true): gdImageFlipVertical(raw)
        case (false, false): break
        }
        return self
    }
}

/// The row tables a quarter turn's threads share: the source is only read, and each
/// thread writes the target columns of its own source rows.
private struct TurnRows: @unchecked Sendable {
    let source: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>
    let target: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>
}
