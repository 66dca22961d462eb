internal import CGD

/// The formats libgd itself decodes and encodes here. HEIF and AVIF are absent on purpose:
/// libgd 2.3.3 disables libheif's transforms and shears widths not divisible by 4
/// (libgd #788), so those go through libheif directly.
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

    /// `quality` is 1–100 where the format has one, nil for libgd's own default (the
    /// service's defaults live in ImageEncoder, which always passes one); PNG uses zlib
    /// level 6 (level 1 halves the time but grows files ~30%, a bad trade for files
    /// written once and served often).
    func encode(_ image: gdImagePtr, quality: Int?, _ size: UnsafeMutablePointer<Int32>) -> UnsafeMutableRawPointer? {
        switch self {
        case .jpeg: gdImageJpegPtr(image, size, Int32(quality ?? -1))
        case .png: gdImagePngPtrEx(image, size, 6)
        case .gif: GIFPalette.encode(image, size)
        case .webp: gdImageWebpPtrEx(image, size, Int32(quality ?? -1))
        case .bmp: gdImageBmpPtr(image, size, 0)
        // Through a context that zero-fills what libtiff seeks over: `gdImageTiffPtr`
        // leaves that byte as the heap had it (`cgd_tiff_zeroed` in the shim; freed with
        // gdFree, which is free).
        case .tiff: cgd_tiff_zeroed(image, size)
        }
    }
}
