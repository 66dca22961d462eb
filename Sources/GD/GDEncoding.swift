internal import CGD

/// The formats libgd still writes here. JPEG, PNG and TIFF have writers of their own
/// (`GDImage+JPEG`, the PNG and TIFF targets) that know grey, opaque and alpha images and
/// are faster; libgd's wrote RGBA for opaque PNGs, mislabelled TIFF alpha and copied every
/// JPEG row.
public enum GDEncoding: String, Sendable, Equatable {
    case gif, webp, bmp

    /// `quality` is 1–100 for WebP, nil for libgd's own default (the service's defaults
    /// live in ImageEncoder, which always passes one).
    func encode(_ image: gdImagePtr, quality: Int?, _ size: UnsafeMutablePointer<Int32>) -> UnsafeMutableRawPointer? {
        switch self {
        case .gif: GIFPalette.encode(image, size)
        case .webp: gdImageWebpPtrEx(image, size, Int32(quality ?? -1))
        case .bmp: gdImageBmpPtr(image, size, 0)
        }
    }
}
