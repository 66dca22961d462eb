internal import CTurboJPEG

/// Compresses packed B,G,R,X pixels to a baseline JPEG with libjpeg-turbo, straight
/// from the pixel layout libgd keeps in memory: libgd's own JPEG writer first converts
/// every pixel to an RGB scanline, which was a third of the encode time of a thumbnail.
public enum TurboJPEGEncoder {
    /// Chroma resolution; `.grey` writes one component (luma only).
    public enum Subsampling: Sendable {
        case s444, s422, s420, grey

        var tj: TJSAMP {
            switch self {
            case .s444: TJSAMP_444
            case .s422: TJSAMP_422
            case .s420: TJSAMP_420
            case .grey: TJSAMP_GRAY
            }
        }
    }

    public static func encode(
        bgrx pixels: [UInt8], width: Int, height: Int, stride: Int, quality: Int, subsampling: Subsampling = .s420
    ) throws(TurboJPEGError) -> [UInt8] {
        guard let handle = tjInitCompress() else {
            throw TurboJPEGError(kind: .corrupt, message: "tjInitCompress failed")
        }
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let rc = pixels.withUnsafeBufferPointer { source in
            tjCompress2(
                handle, source.baseAddress, Int32(width), Int32(stride), Int32(height), Int32(TJPF_BGRX.rawValue),
                &output, &size, Int32(subsampling.tj.rawValue), Int32(quality), 0)
        }
        defer { if let output { tjFree(output) } }
        guard rc == 0, let output else {
            throw TurboJPEGError(kind: .corrupt, message: String(cString: tjGetErrorStr2(handle)))
        }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }
}
