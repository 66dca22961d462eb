import ProgimageAPI

/// How far a JPEG may be shrunk on load before its colour suffers. libjpeg gives a
/// subsampled chroma component its own larger DCT scale only when its sampling is the
/// same across and down (4:2:0); 4:2:2, 4:4:0 and 4:1:1 chroma stays at the luma's scale,
/// so at 1/8 a 4:2:2 file's chroma is one sample per 16 source columns, replicated:
/// measured on 16-px red bars over smooth colour, 1601 px to 200, the chroma against a
/// full decode's was 25.9 dB at 1/8, 33.4 at 1/4 and 47.2 at 1/2 (4:2:0 at 1/8: 40.9), and
/// the bars came out dark-edged and pink beside. Those files take at most 1/2; chroma
/// subsampled four times one way (4:1:1), 1/1.
enum JPEGChromaSampling {
    /// The largest DCT shrink (1, 2, 4 or 8) that keeps the chroma as sharp as a 4:2:0
    /// file's; 8 when the header cannot be read (the decode then says what is wrong).
    ///
    /// 1 as well when the file's samples are not sRGB's kind of numbers: a DCT-scaled decode
    /// averages them before they are converted, and our resampler averages sRGB after. For
    /// CMYK (four components) converted by a press profile's tables, or grey with a profile
    /// of its own curve, the two part: a black-and-white checker in a CMYK JPEG (Ghostscript's
    /// `ps_cmyk`) came out 129.7 at 200 px and 188 at 128 px, and the same pixels as a PNG 128
    /// (a black-box probe). RGB profiles (Display P3's curve is sRGB's) shrink as before.
    static func largestFaithfulShrink(_ bytes: [UInt8]) -> Int {
        let reader = ByteReader(bytes, label: "jpeg")
        var factors: [(h: Int, v: Int)] = []
        var profileIsRGB = true
        _ = try? JPEGSegments(reader: reader, skippingStrayBytes: true).walk { segment throws(ServiceError) in
            // APP2 `ICC_PROFILE\0`, chunk 1 of n: the profile's colour space at its byte 16.
            // (A segment cut short there is no profile here: it must not end the walk, which
            // would read as a header that cannot be read.)
            if segment.marker == 0xE2, segment.payload.matches(Array("ICC_PROFILE\0".utf8) + [1]) {
                profileIsRGB = segment.payload.matches("RGB ", at: 14 + 16)
            }
            guard ImageHeader.isStartOfFrame(segment.marker) else { return false }
            // precision(1) height(2) width(2) count(1), then id(1) sampling(1) table(1) each.
            let count = Int(try segment.payload.u8(5))
            for component in 0..<count {
                let sampling = Int(try segment.payload.u8(6 + component * 3 + 1))
                factors.append((sampling >> 4, sampling & 0x0F))
            }
            return true
        }
        guard let maxH = factors.map(\.h).max(), let maxV = factors.map(\.v).max(),
            factors.allSatisfy({ $0.h > 0 && $0.v > 0 })
        else { return 8 }
        guard factors.count != 4, profileIsRGB else { return 1 }
        // libjpeg's finer chroma scale needs whole power-of-two ratios: 3×2 luma over 1×1
        // chroma stayed coarse at 1/8 (29.0 dB on the red bars at 200 px).
        func wholePowerOfTwo(_ ratio: Int, _ remainder: Int) -> Bool { remainder == 0 && ratio & (ratio - 1) == 0 }
        guard factors.allSatisfy({ wholePowerOfTwo(maxH / $0.h, maxH % $0.h) && wholePowerOfTwo(maxV / $0.v, maxV % $0.v) })
        else { return 1 }
        // How much more one way than the other a component is subsampled (1 when alike).
        let lopsided = factors.map { factor in
            let (across, down) = (maxH / factor.h, maxV / factor.v)
            return max(across, down) / min(across, down)
        }.max() ?? 1
        return lopsided <= 1 ? 8 : max(1, 4 / lopsided)
    }
}
