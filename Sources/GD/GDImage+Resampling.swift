internal import CGD

extension GDImage {
    /// Resamples all four of libgd's channels (7-bit alpha included) to `width`×`height`
    /// with `SignedFilterTaps.resampling` per axis: Catmull-Rom where the axis grows, the
    /// widening tent where it shrinks. For enlargements and for images with transparency
    /// (opaque reductions take `tentResampled`'s faster lanes).
    ///
    /// It replaces libgd 2.3.3's `gdImageScale`, whose enlargements were wrong three ways,
    /// measured against Pillow's BICUBIC: GD_BICUBIC_FIXED moved content by up to 3 px
    /// (a grid's pitch 81.5 px for 80, its last row lost), was nearest-neighbour vertically,
    /// took a flat 200 to 196–204; and it read outside a 1×1 or 2×2 source, which killed the
    /// worker (SIGSEGV). Its generic GD_BICUBIC two-pass gave the same grid at 12 dB.
    ///
    /// Horizontal pass first, on source rows (fewer than output rows when enlarging), into
    /// a ring of 8.8 fixed-point rows as tall as the vertical taps; then each output row.
    ///
    /// `window`: only that part of the `width`×`height` result (the window a `fill` keeps of
    /// its cover), the same pixels as resampling whole and cropping, without the whole.
    static func resampled(
        _ source: gdImagePtr, width: Int, height: Int, window: (x: Int, y: Int, width: Int, height: Int)? = nil,
        extent: (width: Double, height: Double)? = nil
    ) -> gdImagePtr? {
        let sourceWidth = Int(source.pointee.sx), sourceHeight = Int(source.pointee.sy)
        let window = window ?? (0, 0, width, height)
        guard window.width > 0, window.height > 0, window.x >= 0, window.y >= 0, window.x + window.width <= width,
            window.y + window.height <= height, sourceWidth > 0, sourceHeight > 0,
            let outputWidth = Int32(exactly: window.width), let outputHeight = Int32(exactly: window.height),
            let made = gdImageCreateTrueColor(outputWidth, outputHeight)
        else { return nil }
        let horizontal = SignedFilterTaps.resampling(
            source: sourceWidth, target: width, samples: window.x..<(window.x + window.width), extent: extent?.width)
        let vertical = SignedFilterTaps.resampling(
            source: sourceHeight, target: height, samples: window.y..<(window.y + window.height), extent: extent?.height)
        let (width, height) = (window.width, window.height)
        let sourceRows = cgd_rows(source)!
        let outputRows = cgd_rows(made)!
        let ringRows = vertical.counts.max() ?? 1
        let lanes = width * 4
        // `scaled` area-averages any axis reduced 2× or more first, so the vertical taps are a
        // handful; a ring past this (a tent over 20,000 rows was 2.6 GB) is refused.
        guard ringRows * lanes <= 1 << 26 else {
            gdImageDestroy(made)
            return nil
        }
        let ring = UnsafeMutableBufferPointer<Int32>.allocate(capacity: ringRows * lanes)
        defer { ring.deallocate() }
        var ringHolds = [Int](repeating: -1, count: ringRows)

        horizontal.weights.withUnsafeBufferPointer { hWeights in
            vertical.weights.withUnsafeBufferPointer { vWeights in
                for y in 0..<height {
                    let first = vertical.starts[y], taps = vertical.counts[y]
                    for sourceY in first..<(first + taps) where ringHolds[sourceY % ringRows] != sourceY {
                        ringHolds[sourceY % ringRows] = sourceY
                        let row = UnsafeMutableRawPointer(sourceRows[sourceY]!).assumingMemoryBound(to: UInt32.self)
                        let out = ring.baseAddress! + (sourceY % ringRows) * lanes
                        for x in 0..<width {
                            let start = horizontal.starts[x], weightBase = x * horizontal.stride
                            var a: Int32 = 0, r: Int32 = 0, g: Int32 = 0, b: Int32 = 0
                            for k in 0..<horizontal.counts[x] {
                                let p = row[start + k], w = hWeights[weightBase + k]
                                a &+= Int32((p >> 24) & 0x7F) &* w
                                r &+= Int32((p >> 16) & 0xFF) &* w
                                g &+= Int32((p >> 8) & 0xFF) &* w
                                b &+= Int32(p & 0xFF) &* w
                            }
                            // 14-bit weights to 8.8: at most ~74,000 a lane after a cubic's
                            // overshoot, so the vertical sums stay within 31 bits.
                            let shift = SignedFilterTaps.fractionBits - 8, half: Int32 = 1 << (shift - 1)
                            out[x * 4] = (a &+ half) >> shift
                            out[x * 4 + 1] = (r &+ half) >> shift
                            out[x * 4 + 2] = (g &+ half) >> shift
                            out[x * 4 + 3] = (b &+ half) >> shift
                        }
                    }
                    let row = UnsafeMutableRawPointer(outputRows[y]!).assumingMemoryBound(to: UInt32.self)
                    let weightBase = y * vertical.stride
                    let shift = SignedFilterTaps.fractionBits + 8, half: Int32 = 1 << (shift - 1)
                    for x in 0..<width {
                        var a: Int32 = 0, r: Int32 = 0, g: Int32 = 0, b: Int32 = 0
                        for k in 0..<taps {
                            let lane = ring.baseAddress! + ((first + k) % ringRows) * lanes + x * 4
                            let w = vWeights[weightBase + k]
                            a &+= lane[0] &* w
                            r &+= lane[1] &* w
                            g &+= lane[2] &* w
                            b &+= lane[3] &* w
                        }
                        func level(_ sum: Int32, _ top: Int32) -> UInt32 { UInt32(min(top, max(0, (sum &+ half) >> shift))) }
                        row[x] = level(a, 127) << 24 | level(r, 255) << 16 | level(g, 255) << 8 | level(b, 255)
                    }
                }
            }
        }
        return made
    }
}
