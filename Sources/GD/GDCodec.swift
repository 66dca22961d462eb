internal import CGD

/// The formats libgd decodes here (as the fallback behind our own readers for PNG and BMP,
/// and for GIF). HEIF and AVIF are absent on purpose: libgd 2.3.3 disables libheif's
/// transforms and shears widths not divisible by 4 (libgd #788), so those go through
/// libheif directly.
public enum GDCodec: Sendable, Equatable {
    case jpeg, png, gif, webp, bmp, tiff
}

extension GDCodec {
    /// The corresponding C functions are `gdImageCreateFrom{Jpeg,Png,Gif,Webp,Bmp,Tiff}Ptr`.
    func decode(_ size: Int32, _ data: UnsafeMutableRawPointer) -> gdImagePtr? {
        switch self {
        case .jpeg: gdImageCreateFromJpegPtr(size, data)
        case .png: gdImageCreateFromPngPtr(size, data)
        case .gif: gdImageCreateFromGifPtr(size, data)
        case .webp: gdImageCreateFromWebpPtr(size, data)
        case .bmp: gdImageCreateFromBmpPtr(size, data)
        case .tiff: gdImageCreateFromTiffPtr(size, data)
        }
    }
}
