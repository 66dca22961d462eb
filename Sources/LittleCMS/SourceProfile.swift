/// Where a source image says its colours come from.
public enum SourceProfile: Sendable {
    /// An embedded ICC profile, as stored.
    case icc(ICCProfile)
    /// HEIF/AVIF `nclx`: chromaticities (CIE xy) and a transfer function, no ICC.
    case primaries(RGBPrimaries, TransferFunction)
}

/// An ICC profile's bytes and a digest of them, which names the profile in the transform
/// cache: the cache keeps neither the bytes nor anything their size decides.
public struct ICCProfile: Sendable {
    public let bytes: [UInt8]
    public let digest: String

    public init(bytes: [UInt8], digest: String) {
        self.bytes = bytes
        self.digest = digest
    }
}

/// CIE xy chromaticities of an RGB space's red, green and blue and its white point.
public struct RGBPrimaries: Hashable, Sendable {
    /// Red x, y, green x, y, blue x, y, white x, y.
    let values: [Double]

    public init(red: (Double, Double), green: (Double, Double), blue: (Double, Double), white: (Double, Double)) {
        values = [red.0, red.1, green.0, green.1, blue.0, blue.1, white.0, white.1]
    }
}

/// The electro-optical transfer functions `nclx` can name that map to an ICC tone curve.
/// HDR transfers (PQ, HLG) need tone mapping, which this service does not do: the
/// caller leaves such images as they are.
public enum TransferFunction: Hashable, Sendable {
    /// IEC 61966-2-1 (nclx 13, and the default for unspecified).
    case sRGB
    /// BT.709/BT.601/BT.2020 camera curve, inverted (nclx 1, 6, 14, 15).
    case bt709
    /// A pure power law (nclx 4: 2.2, nclx 5: 2.8, nclx 8: 1.0).
    case gamma(Double)
}
