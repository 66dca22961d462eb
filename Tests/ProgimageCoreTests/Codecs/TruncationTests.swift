import ProgimageAPI
import Testing

@testable import ProgimageCore

/// A file cut short must be refused (422 corrupt_image), never stored as a half image:
/// libjpeg only warns on a premature end and libgd then returns a grey-filled image.
@Suite struct TruncationTests {
    static let samples = [
        "jpeg/exif-orientation/Landscape_1.jpg", "png/pngsuite/basn2c08.png", "gif/gif-test-suite/animated_loop.gif",
        "webp/libwebp/test.webp", "bmp/bmpsuite/good/rgb24.bmp", "tiff/libtiffpic/jello.tif",
        "avif/link-u/fox.profile0.8bpc.yuv420.avif", "heif/libheif/rainbow-451x461.heic",
    ]

    @Test(arguments: samples)
    func truncatedFilesAreCorrupt(file: String) throws {
        let bytes = Corpus.bytes(file)
        let ingest = ImageIngest(maxUploadBytes: 1 << 30, maxPixels: 1 << 30)
        for fraction in [0.5, 0.9] {
            let cut = Array(bytes.prefix(Int(Double(bytes.count) * fraction)))
            do {
                let inspected = try ingest.inspect(cut)
                Issue.record("\(file) cut to \(fraction) was accepted as \(inspected.size)")
            } catch {
                #expect(error.code == .corruptImage, "\(file) at \(fraction): \(error)")
            }
        }
    }
}
