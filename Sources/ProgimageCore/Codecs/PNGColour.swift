import LittleCMS

/// What a PNG says its colours are. `cICP` (PNG's third edition) names them by ISO/IEC
/// 23091-2 code points and takes precedence over `iCCP` where a reader understands it, as
/// Chrome, Safari and Firefox do: a Display P3 PNG tagged only so came out as if sRGB
/// (a saturated pixel 63 levels off). `iCCP` otherwise, and for code points read here as
/// HDR, narrow range, a YCbCr matrix, or primaries not in the table below.
enum PNGColour {
    /// The profile to convert from; nil when the pixels are to be taken as sRGB.
    static func source(of png: [UInt8]) -> SourceProfile? {
        if let chunk = PNGChunks.first("cICP", in: ByteReader(png, label: "png")), chunk.count == 4,
            let primaryCode = try? chunk.u8(0), let transfer = try? chunk.u8(1), let matrix = try? chunk.u8(2),
            let fullRange = try? chunk.u8(3), matrix == 0, fullRange == 1,
            let primaries = primaries(Int(primaryCode))
        {
            switch SourceColor.codePoints(primaries: Int(primaryCode), primaries, transfer: Int(transfer)) {
            case .asStored: return nil
            case .convert(let source): return source
            case .highDynamicRange: break
            }
        }
        return SourceColor.profile(EmbeddedColorProfile.png(png))
    }

    /// ISO/IEC 23091-2 colour primaries (Table 2), white point D65 unless said.
    private static func primaries(_ code: Int) -> RGBPrimaries? {
        let d65 = (0.3127, 0.3290)
        switch code {
        case 1, 2: return RGBPrimaries(red: (0.64, 0.33), green: (0.30, 0.60), blue: (0.15, 0.06), white: d65)  // BT.709, sRGB
        case 5: return RGBPrimaries(red: (0.64, 0.33), green: (0.29, 0.60), blue: (0.15, 0.06), white: d65)  // BT.601 625
        case 6, 7: return RGBPrimaries(red: (0.630, 0.340), green: (0.310, 0.595), blue: (0.155, 0.070), white: d65)  // BT.601 525
        case 9: return RGBPrimaries(red: (0.708, 0.292), green: (0.170, 0.797), blue: (0.131, 0.046), white: d65)  // BT.2020
        case 11: return RGBPrimaries(red: (0.680, 0.320), green: (0.265, 0.690), blue: (0.150, 0.060), white: (0.314, 0.351))  // DCI-P3
        case 12: return RGBPrimaries(red: (0.680, 0.320), green: (0.265, 0.690), blue: (0.150, 0.060), white: d65)  // Display P3
        default: return nil
        }
    }
}
