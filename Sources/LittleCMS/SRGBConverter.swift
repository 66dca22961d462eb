internal import CLittleCMS

/// Converts pixels to sRGB with LittleCMS, in place.
///
/// One compiled transform per distinct (profile, layout), kept for the life of the
/// process: a profile seen twice is parsed once, and every phone's P3 profile is the same
/// few hundred bytes. A profile whose transform leaves every colour of a 16³ grid within
/// one level is recorded as sRGB and costs nothing afterwards (sRGB-tagged photos).
/// Intent: perceptual, without black-point compensation (LittleCMS's and Pillow
/// ImageCms's defaults). Matrix-shaper RGB profiles render the same under every intent;
/// for CMYK the profile's perceptual table is what its author meant for display.
public enum SRGBConverter {
    /// The byte order of the pixels to convert. RGB layouts come back in the same layout,
    /// alpha untouched; CMYK comes back as B,G,R in the first three of the same four bytes
    /// (the fourth keeps K: callers mask it).
    public enum Layout: Hashable, Sendable {
        case bgrx
        case rgba
        case rgb
        case cmyk(inverted: Bool)

        var bytesPerPixel: Int { self == .rgb ? 3 : 4 }
    }

    /// Whether converting from `source` does anything: false for sRGB profiles and for
    /// profiles that cannot be used (both leave the pixels as they are).
    public static func changesColors(from source: SourceProfile, layout: Layout) -> Bool {
        if let transform = CompiledTransform.cached(source, layout) { return !transform.isIdentity }
        return greyLevels(source, layout).map { !$0.isIdentity } ?? false
    }

    /// Converts `height` rows of `width` pixels, `stride` bytes apart. A grey profile
    /// converts RGB layouts whose every pixel is grey (`GreyProfileLevels`). Returns false,
    /// and changes nothing, when the profile is unusable or describes another colour space
    /// than the pixels (a grey profile on colour pixels, say): the caller then treats the
    /// pixels as sRGB (or, for CMYK, converts without a profile).
    @discardableResult
    public static func convert(
        _ pixels: inout [UInt8], width: Int, height: Int, stride: Int, layout: Layout, from source: SourceProfile
    ) -> Bool {
        guard width > 0, height > 0, stride >= width * layout.bytesPerPixel, stride <= Int(UInt32.max),
            pixels.count >= stride * (height - 1) + width * layout.bytesPerPixel
        else { return false }
        guard let transform = CompiledTransform.cached(source, layout) else {
            // A grey profile, on pixels that are grey.
            guard let grey = greyLevels(source, layout) else { return false }
            let (red, blue) = layout == .bgrx ? (2, 0) : (0, 2)
            return grey.apply(
                &pixels, width: width, height: height, stride: stride, bytesPerPixel: layout.bytesPerPixel, red: red,
                green: 1, blue: blue, alpha: layout == .rgba ? 3 : nil)
        }
        if transform.isIdentity { return true }
        transform.apply(&pixels, width: width, height: height, stride: stride)
        return true
    }

    /// The conversion of 16-bit samples from `source`, for a decoder to use before it
    /// reduces them to 8 bits (reducing first moved saturated colours near the gamut's edge
    /// by up to 20 levels: ProPhoto or Adobe RGB in 16 bits). nil when converting changes
    /// nothing, or the profile is not a matrix/TRC RGB profile converted directly: the
    /// caller then reduces to 8 bits and converts those.
    public static func deepConversion(from source: SourceProfile) -> DeepConversion? {
        guard let transform = CompiledTransform.cached(source, .rgba), !transform.isIdentity,
            let deep = transform.deepMatrixShaper(source)
        else { return nil }
        return DeepConversion(transform: deep)
    }

    /// 16-bit R,G,B(,A) samples to 8-bit sRGB R,G,B,A (`deepConversion(from:)`).
    public struct DeepConversion: Sendable {
        let transform: MatrixShaperTransform

        /// `count` pixels of `channels` (3 or 4) samples each, in the machine's byte order,
        /// as 8-bit R,G,B,A, or R,G,B when not `keepingAlpha`.
        public func pixels(_ samples: UnsafeBufferPointer<UInt16>, channels: Int, count: Int, keepingAlpha: Bool = true) -> [UInt8] {
            let outputChannels = keepingAlpha ? 4 : 3
            return [UInt8](unsafeUninitializedCapacity: count * outputChannels) { out, written in
                transform.apply(samples, channels: channels, count: count, into: out, outputChannels: outputChannels)
                written = count * outputChannels
            }
        }
    }

    private static func greyLevels(_ source: SourceProfile, _ layout: Layout) -> GreyProfileLevels? {
        guard case .icc(let profile) = source, layout != .cmyk(inverted: false), layout != .cmyk(inverted: true) else { return nil }
        return GreyProfileLevels.cached(profile)
    }
}

/// A LittleCMS transform to sRGB, shared by every thread (LittleCMS copies a transform's
/// one-pixel cache onto the stack for each call; `cmsFLAGS_NOCACHE` drops even that, as a
/// photograph's neighbouring pixels rarely repeat).
final class CompiledTransform: @unchecked Sendable {
    private let handle: cmsHTRANSFORM
    let isIdentity: Bool
    /// The direct matrix/TRC path, where both profiles allow it and it agrees with `handle`.
    private let matrixShaper: MatrixShaperTransform?
    private let layout: SRGBConverter.Layout

    /// What names a source in the cache: an ICC profile by its digest.
    private enum Identity: Hashable, Sendable {
        case icc(digest: String)
        case primaries(RGBPrimaries, TransferFunction)
    }

    private struct Key: Hashable, Sendable {
        let source: Identity
        let layout: SRGBConverter.Layout
    }

    private static let cache = ParsedProfileCache<Key, CompiledTransform>()

    static func cached(_ source: SourceProfile, _ layout: SRGBConverter.Layout) -> CompiledTransform? {
        cache.value(for: Key(source: identity(source), layout: layout)) { CompiledTransform(source, layout) }
    }

    private static func identity(_ source: SourceProfile) -> Identity {
        switch source {
        case .icc(let profile): .icc(digest: profile.digest)
        case .primaries(let primaries, let transfer): .primaries(primaries, transfer)
        }
    }

    private init?(_ source: SourceProfile, _ layout: SRGBConverter.Layout) {
        guard let input = Self.openProfile(source) else { return nil }
        defer { cmsCloseProfile(input) }
        let (inputFormat, outputFormat, space): (cmsUInt32Number, cmsUInt32Number, cmsColorSpaceSignature)
        switch layout {
        case .bgrx: (inputFormat, outputFormat, space) = (pg_lcms_type_bgra_8(), pg_lcms_type_bgra_8(), cmsSigRgbData)
        case .rgba: (inputFormat, outputFormat, space) = (pg_lcms_type_rgba_8(), pg_lcms_type_rgba_8(), cmsSigRgbData)
        case .rgb: (inputFormat, outputFormat, space) = (pg_lcms_type_rgb_8(), pg_lcms_type_rgb_8(), cmsSigRgbData)
        case .cmyk(let inverted):
            (inputFormat, outputFormat, space) = (
                inverted ? pg_lcms_type_cmyk_8_rev() : pg_lcms_type_cmyk_8(), pg_lcms_type_bgra_8(), cmsSigCmykData
            )
        }
        guard cmsGetColorSpace(input) == space, let sRGB = cmsCreate_sRGBProfile() else { return nil }
        defer { cmsCloseProfile(sRGB) }
        guard
            let handle = cmsCreateTransform(
                input, inputFormat, sRGB, outputFormat, cmsUInt32Number(INTENT_PERCEPTUAL), cmsUInt32Number(cmsFLAGS_NOCACHE))
        else { return nil }
        self.handle = handle
        self.layout = layout
        // The grid checks below are about RGB sources; a CMYK transform is used as it is.
        guard space == cmsSigRgbData else {
            (isIdentity, matrixShaper) = (false, nil)
            return
        }
        let grid = Self.grid(layout)
        let converted = Self.lcmsConverted(grid, handle)
        isIdentity = Self.largestDifference(grid, converted, layout) <= 1
        if !isIdentity, let direct = MatrixShaperTransform(from: input, to: sRGB) {
            var directly = grid
            Self.apply(direct, to: &directly, width: grid.count / layout.bytesPerPixel, height: 1, stride: grid.count, layout)
            matrixShaper = Self.largestDifference(directly, converted, layout) <= 1 ? direct : nil
        } else {
            matrixShaper = nil
        }
    }

    /// The direct transform's 16-bit form (65536-entry tables: made on first use, and only
    /// where the 8-bit form passed the grid check).
    func deepMatrixShaper(_ source: SourceProfile) -> MatrixShaperTransform? {
        guard matrixShaper != nil else { return nil }
        return Self.deepCache.value(for: Self.identity(source)) {
            guard let input = Self.openProfile(source), let sRGB = cmsCreate_sRGBProfile() else { return nil }
            defer {
                cmsCloseProfile(input)
                cmsCloseProfile(sRGB)
            }
            return MatrixShaperTransform(from: input, to: sRGB, inputBits: 16)
        }
    }

    private static let deepCache = ParsedProfileCache<Identity, MatrixShaperTransform>(capacity: 8)

    deinit { cmsDeleteTransform(handle) }

    func apply(_ pixels: inout [UInt8], width: Int, height: Int, stride: Int) {
        if let matrixShaper {
            Self.apply(matrixShaper, to: &pixels, width: width, height: height, stride: stride, layout)
            return
        }
        pixels.withUnsafeMutableBytes { buffer in
            // In place: input and output have the same size per pixel, and LittleCMS reads
            // each pixel before it writes it. Extra channels (alpha) are left as they are.
            cmsDoTransformLineStride(
                handle, buffer.baseAddress, buffer.baseAddress, cmsUInt32Number(width), cmsUInt32Number(height),
                cmsUInt32Number(stride), cmsUInt32Number(stride), 0, 0)
        }
    }

    private static func openProfile(_ source: SourceProfile) -> cmsHPROFILE? {
        switch source {
        case .icc(let profile):
            return profile.bytes.withUnsafeBytes { cmsOpenProfileFromMem($0.baseAddress, cmsUInt32Number($0.count)) }
        case .primaries(let primaries, let transfer):
            let v = primaries.values
            var white = cmsCIExyY(x: v[6], y: v[7], Y: 1)
            var triple = cmsCIExyYTRIPLE(
                Red: cmsCIExyY(x: v[0], y: v[1], Y: 1), Green: cmsCIExyY(x: v[2], y: v[3], Y: 1),
                Blue: cmsCIExyY(x: v[4], y: v[5], Y: 1))
            guard let curve = toneCurve(transfer) else { return nil }
            defer { cmsFreeToneCurve(curve) }
            var curves: [OpaquePointer?] = [curve, curve, curve]
            return curves.withUnsafeMutableBufferPointer { cmsCreateRGBProfile(&white, &triple, $0.baseAddress) }
        }
    }

    /// ICC parametric curves (type 1: Y = X^g; type 4: Y = (aX+b)^g above d, cX below).
    private static func toneCurve(_ transfer: TransferFunction) -> OpaquePointer? {
        switch transfer {
        case .sRGB:
            let p: [Double] = [2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045]
            return cmsBuildParametricToneCurve(nil, 4, p)
        case .bt709:
            let p: [Double] = [1 / 0.45, 1 / 1.099, 0.099 / 1.099, 1 / 4.5, 0.081]
            return cmsBuildParametricToneCurve(nil, 4, p)
        case .gamma(let g):
            return cmsBuildParametricToneCurve(nil, 1, [g])
        }
    }

    private static func apply(
        _ transform: MatrixShaperTransform, to pixels: inout [UInt8], width: Int, height: Int, stride: Int,
        _ layout: SRGBConverter.Layout
    ) {
        let (red, blue) = layout == .bgrx ? (2, 0) : (0, 2)
        transform.apply(
            &pixels, width: width, height: height, stride: stride, bytesPerPixel: layout.bytesPerPixel, red: red,
            green: 1, blue: blue)
    }

    /// Every colour of a 16³ grid (0, 17, …, 255 per channel), opaque, in `layout`'s size
    /// of pixel. The channel order does not matter: every order of the grid is the grid.
    private static func grid(_ layout: SRGBConverter.Layout) -> [UInt8] {
        var grid: [UInt8] = []
        for r in Swift.stride(from: 0, through: 255, by: 17) {
            for g in Swift.stride(from: 0, through: 255, by: 17) {
                for b in Swift.stride(from: 0, through: 255, by: 17) {
                    grid += layout.bytesPerPixel == 4 ? [UInt8(r), UInt8(g), UInt8(b), 255] : [UInt8(r), UInt8(g), UInt8(b)]
                }
            }
        }
        return grid
    }

    private static func lcmsConverted(_ grid: [UInt8], _ handle: cmsHTRANSFORM) -> [UInt8] {
        var out = grid
        let pixels = cmsUInt32Number(4096)
        grid.withUnsafeBytes { source in
            out.withUnsafeMutableBytes { target in cmsDoTransform(handle, source.baseAddress, target.baseAddress, pixels) }
        }
        return out
    }

    /// The largest change of a colour channel between two versions of the grid.
    private static func largestDifference(_ a: [UInt8], _ b: [UInt8], _ layout: SRGBConverter.Layout) -> Int {
        var largest = 0
        for i in a.indices where i % layout.bytesPerPixel < 3 { largest = max(largest, abs(Int(a[i]) - Int(b[i]))) }
        return largest
    }
}
