public import ProgimageAPI
import JXL

/// How many frames an uploaded image has (the image object's `frames`): a GIF's image
/// descriptors, an animated WebP's `ANMF` chunks, a JPEG XL's frame headers (libjxl), 1
/// for every other image. Counted from the
/// container, which the decoder has already validated.
public enum FrameCount {
    public static func of(_ bytes: [UInt8], format: ImageFormat) -> Int {
        switch format {
        case .gif: return max(1, (try? GIFStructure.validate(bytes))?.frameCount ?? 1)
        case .webp: return max(1, webPAnimationFrames(bytes))
        case .jxl: return max(1, (try? JXLDecoder.frameCount(of: bytes)) ?? 1)
        default: return 1
        }
    }

    /// `ANMF` chunks at the top level of the RIFF container.
    static func webPAnimationFrames(_ bytes: [UInt8]) -> Int {
        var frames = 0
        RIFFChunks.walk(ByteReader(bytes, label: "webp")) { code, _ in
            if code.matches("ANMF") { frames += 1 }
            return false
        }
        return frames
    }
}
