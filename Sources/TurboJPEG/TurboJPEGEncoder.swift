internal import CTurboJPEG

/// Compresses packed B,G,R,X pixels to a baseline 4:2:0 JPEG with libjpeg-turbo, straight
/// from the pixel layout libgd keeps in memory: libgd's own JPEG writer first converts
/// every pixel to an RGB scanline, which was a third of the encode time of a thumbnail.
public enum TurboJPEGEncoder {
    public static func encode(
        bgrx pixels: [UInt8], width: Int, height: Int, stride: Int, quality: Int
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
                &output, &size, Int32(TJSAMP_420.rawValue), Int32(quality), 0)
        }
        defer { if let output { tjFree(output) } }
        guard rc == 0, let output else {
            throw TurboJPEGError(kind: .corrupt, message: String(cString: tjGetErrorStr2(handle)))
        }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }
}
