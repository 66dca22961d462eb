internal import CLittleCMS

/// A grey ICC profile as the 256 sRGB colours its 256 levels become, for grey images
/// decoded to R = G = B (JPEG, PNG and TIFF decoders hand grey over so). Browsers honour
/// grey profiles (Photoshop's "Dot Gain 20%" greys, Ghostscript's sGray): measured on a
/// grey JPEG with sGray, LittleCMS and libvips both take 32 → 43 and 128 → 146, which
/// leaving the levels as they were missed by 15 on average.
///
/// Only applied when every pixel is grey: a grey profile on a colour image describes
/// nothing the pixels hold (it is left, as `SRGBConverter` leaves any profile of another
/// colour space).
final class GreyProfileLevels: Sendable {
    /// R, G, B for each input level.
    private let table: [UInt8]
    let isIdentity: Bool

    private static let cache = ParsedProfileCache<String, GreyProfileLevels>()

    static func cached(_ profile: ICCProfile) -> GreyProfileLevels? {
        cache.value(for: profile.digest) { GreyProfileLevels(profile) }
    }

    private init?(_ profile: ICCProfile) {
        guard
            let input = profile.bytes.withUnsafeBytes({ cmsOpenProfileFromMem($0.baseAddress, cmsUInt32Number($0.count)) })
        else { return nil }
        defer { cmsCloseProfile(input) }
        guard cmsGetColorSpace(input) == cmsSigGrayData, let sRGB = cmsCreate_sRGBProfile() else { return nil }
        defer { cmsCloseProfile(sRGB) }
        guard
            let transform = cmsCreateTransform(
                input, pg_lcms_type_gray_8(), sRGB, pg_lcms_type_rgb_8(), cmsUInt32Number(INTENT_PERCEPTUAL), 0)
        else { return nil }
        defer { cmsDeleteTransform(transform) }
        let levels = (0...255).map { UInt8($0) }
        var table = [UInt8](repeating: 0, count: 256 * 3)
        levels.withUnsafeBytes { source in
            table.withUnsafeMutableBytes { target in cmsDoTransform(transform, source.baseAddress, target.baseAddress, 256) }
        }
        self.table = table
        isIdentity = (0..<256).allSatisfy { level in (0..<3).allSatisfy { abs(Int(table[level * 3 + $0]) - level) <= 1 } }
    }

    /// Converts in place when every visible pixel is grey; false (and nothing changed)
    /// otherwise. `red`, `green`, `blue` are the byte offsets of the channels within a
    /// pixel, `alpha` its alpha's, if any: what an invisible pixel holds does not count
    /// (encoders often leave colour there).
    func apply(
        _ pixels: inout [UInt8], width: Int, height: Int, stride: Int, bytesPerPixel: Int, red: Int, green: Int, blue: Int,
        alpha: Int?
    ) -> Bool {
        pixels.withUnsafeMutableBufferPointer { buffer in
            for y in 0..<height {
                var at = y * stride
                for _ in 0..<width {
                    let invisible = alpha.map { buffer[at + $0] == 0 } ?? false
                    guard invisible || (buffer[at] == buffer[at + 1] && buffer[at + 1] == buffer[at + 2]) else { return false }
                    at += bytesPerPixel
                }
            }
            if isIdentity { return true }
            for y in 0..<height {
                var at = y * stride
                for _ in 0..<width {
                    let level = Int(buffer[at]) * 3
                    buffer[at + red] = table[level]
                    buffer[at + green] = table[level + 1]
                    buffer[at + blue] = table[level + 2]
                    at += bytesPerPixel
                }
            }
            return true
        }
    }
}
