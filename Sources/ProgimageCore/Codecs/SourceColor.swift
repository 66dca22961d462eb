import Digest
import GD
import HEIF
import JPEG
import LittleCMS

/// Brings decoded pixels to sRGB before the first operation: an embedded ICC profile
/// (JPEG APP2, PNG iCCP, WebP ICCP, TIFF tag 34675, HEIF/AVIF `colr`) or HEIF/AVIF `nclx`
/// primaries and transfer go through LittleCMS (`SRGBConverter`); untagged sources are
/// taken as sRGB.
///
/// What is left as it is, and why: a profile LittleCMS cannot parse, or one for another
/// colour space than the pixels (a grey profile on colour pixels; on grey pixels, decoded
/// as R = G = B, it is applied); a profile over
/// `maximumProfileBytes`; `nclx` with PQ or HLG (HDR needs tone mapping, not a colour
/// conversion); `nclx` BT.709 primaries with sRGB's or BT.709's transfer (what browsers
/// show for them is sRGB). Not read at all: BMP V4/V5 colour spaces and profiles, PNG `gAMA`/`cHRM`.
enum SourceColor {
    /// Press CMYK profiles reach ~600 KB; nothing legitimate comes near this.
    static let maximumProfileBytes = 4 << 20

    static func profile(_ bytes: [UInt8]?) -> SourceProfile? {
        guard let bytes, !bytes.isEmpty, bytes.count <= maximumProfileBytes else { return nil }
        return .icc(ICCProfile(bytes: bytes, digest: SHA256.hex(bytes)))
    }

    /// A JPEG decode made sRGB B,G,R,X in place. CMYK without a usable profile is
    /// converted with the naive formula R = (1 − C)(1 − K), as Pillow does: there is no
    /// right answer without the press's profile.
    static func convert(_ decoded: inout JPEGDecoder.Decoded) {
        let (width, height, stride) = (decoded.width, decoded.height, decoded.stride)
        let source = profile(decoded.iccProfile)
        switch decoded.layout {
        case .grey:
            // Only asked for, and only given, when the file has no profile.
            break
        case .bgrx:
            if let source {
                SRGBConverter.convert(&decoded.bytes, width: width, height: height, stride: stride, layout: .bgrx, from: source)
            }
        case .cmyk(let inverted):
            convertCMYK(&decoded.bytes, width: width, height: height, stride: stride, inverted: inverted, icc: decoded.iccProfile)
        }
    }

    /// C,M,Y,K rows (a JPEG's, Adobe's inverted; a TIFF's) made sRGB B,G,R,X in place,
    /// through the file's CMYK profile, else with the naive formula.
    static func convertCMYK(_ bytes: inout [UInt8], width: Int, height: Int, stride: Int, inverted: Bool, icc: [UInt8]?) {
        let converted =
            profile(icc).map {
                SRGBConverter.convert(&bytes, width: width, height: height, stride: stride, layout: .cmyk(inverted: inverted), from: $0)
            } ?? false
        if !converted { naiveCMYK(&bytes, inverted: inverted) }
    }

    /// A HEIF/AVIF decode converted in place.
    static func convert(_ decoded: inout HEIFDecoder.Pixels) {
        guard let color = decoded.color, let source = sourceProfile(color) else { return }
        SRGBConverter.convert(
            &decoded.bytes, width: decoded.width, height: decoded.height, stride: decoded.stride,
            layout: decoded.hasAlpha ? .rgba : .rgb, from: source)
    }

    /// Interleaved R,G,B,A rows from a decoder that hands over the file's ICC profile
    /// (WebP, TIFF).
    static func convertRGBA(_ pixels: inout [UInt8], width: Int, height: Int, stride: Int, icc: [UInt8]?) {
        convertRGBA(&pixels, width: width, height: height, stride: stride, from: profile(icc))
    }

    /// The same from a source profile already made (a PNG's `cICP`, `PNGColour`).
    static func convertRGBA(_ pixels: inout [UInt8], width: Int, height: Int, stride: Int, from source: SourceProfile?) {
        guard let source else { return }
        SRGBConverter.convert(&pixels, width: width, height: height, stride: stride, layout: .rgba, from: source)
    }

    /// A libgd image (a PNG's) converted from what its file says (`PNGColour`). Such images
    /// are copied out of libgd and back, so a profile that changes nothing (sRGB) is
    /// recognised first and costs nothing.
    static func converted(_ image: consuming GDImage, from source: SourceProfile?) throws(GDError) -> GDImage {
        guard let source else { return image }
        let opaque = image.isOpaque
        let layout: SRGBConverter.Layout = opaque ? .bgrx : .rgba
        guard SRGBConverter.changesColors(from: source, layout: layout) else { return image }
        let (width, height) = (image.width, image.height)
        var pixels = opaque ? image.packedBGRX() : image.interleaved(alpha: true)
        SRGBConverter.convert(&pixels, width: width, height: height, stride: width * 4, layout: layout, from: source)
        return try GDImage(width: width, height: height, pixels: pixels, stride: width * 4, layout: opaque ? .bgrx : .rgba)
    }

    static func sourceProfile(_ color: HEIFDecoder.ColorDescription) -> SourceProfile? {
        switch color {
        case .icc(let bytes):
            return profile(bytes)
        case .nclx(let nclx):
            guard nclx.chromaticities.allSatisfy({ $0 > 0 && $0 < 1 }) else { return nil }
            let c = nclx.chromaticities
            let primaries = RGBPrimaries(red: (c[0], c[1]), green: (c[2], c[3]), blue: (c[4], c[5]), white: (c[6], c[7]))
            guard case .convert(let source) = codePoints(primaries: nclx.colorPrimaries, primaries, transfer: nclx.transferCharacteristics)
            else { return nil }
            return source
        }
    }

    /// What ISO/IEC 23091-2 code points (HEIF's `nclx`, PNG's `cICP`) ask of the pixels.
    enum CodePointColour {
        /// sRGB already, or what browsers show as sRGB.
        case asStored
        case convert(SourceProfile)
        /// PQ or HLG: HDR needs tone mapping, not a colour conversion.
        case highDynamicRange
    }

    /// `primaries` are the chromaticities the code `primaryCode` names. Primaries 1 (BT.709 =
    /// sRGB's) or 2 (unspecified) are already what we output, unless the transfer is a pure
    /// power law (4, 5, 8: gamma 2.2, 2.8, linear), far from sRGB's curve: a linear HEIC came
    /// out as stored, 13 dB from its colours. (BT.709's camera curve with BT.709 primaries
    /// stays as stored, as browsers show the many files that say so.)
    static func codePoints(primaries primaryCode: Int, _ primaries: RGBPrimaries, transfer: Int) -> CodePointColour {
        guard ![1, 2].contains(primaryCode) || [4, 5, 8].contains(transfer) else { return .asStored }
        let function: TransferFunction
        switch transfer {
        case 1, 6, 14, 15: function = .bt709
        case 4: function = .gamma(2.2)
        case 5: function = .gamma(2.8)
        case 8: function = .gamma(1)
        case 16, 18: return .highDynamicRange
        default: function = .sRGB  // 13, and unspecified
        }
        return .convert(.primaries(primaries, function))
    }

    /// C,M,Y,K → B,G,R,X in the same four bytes, with R = (255 − C)(255 − K)/255.
    private static func naiveCMYK(_ bytes: inout [UInt8], inverted: Bool) {
        for i in stride(from: 0, to: bytes.count - 3, by: 4) {
            var (c, m, y, k) = (Int(bytes[i]), Int(bytes[i + 1]), Int(bytes[i + 2]), Int(bytes[i + 3]))
            if !inverted { (c, m, y, k) = (255 - c, 255 - m, 255 - y, 255 - k) }
            // Now each is 255 − ink.
            bytes[i] = UInt8((y * k + 127) / 255)
            bytes[i + 1] = UInt8((m * k + 127) / 255)
            bytes[i + 2] = UInt8((c * k + 127) / 255)
            bytes[i + 3] = 255
        }
    }
}
