import HEIF
import Testing

@testable import ProgimageCore

/// The service's own `irot`/`imir` (for images libheif 1.15 cannot mirror, deeper than 8
/// bits) against libheif's, on the 8-bit corpus files it can turn: the same pixels.
@Suite struct HEIFTransformTests {
    @Test(arguments: [
        "avif/link-u/kimono.mirror-horizontal.avif", "avif/link-u/kimono.rotate90.avif",
    ])
    func turnedHereAsLibheifTurnsThem(file: String) throws {
        let bytes = Corpus.bytes(file)
        let transforms = try #require(HEIFContainer(bytes).transforms)
        #expect(!transforms.isEmpty && !transforms.contains(.cleanAperture), "\(transforms)")
        let byLibheif = try HEIFDecoder.decode(bytes)
        let coded = try HEIFDecoder.decode(bytes, applyingTransformations: false)
        let turned = try #require(HEIFTransform.applied(transforms, to: coded))
        #expect(turned.width == byLibheif.width && turned.height == byLibheif.height)
        let channels = byLibheif.hasAlpha ? 4 : 3
        for y in 0..<turned.height {
            let row = { (pixels: HEIFDecoder.Pixels) in pixels.bytes[(y * pixels.stride)..<(y * pixels.stride + pixels.width * channels)] }
            guard row(turned).elementsEqual(row(byLibheif)) else {
                Issue.record("\(file): row \(y) differs")
                return
            }
        }
    }

    @Test func aCleanApertureIsLeftToLibheif() throws {
        let bytes = Corpus.bytes("avif/link-u/kimono.crop.avif")
        let transforms = try #require(HEIFContainer(bytes).transforms)
        #expect(transforms.contains(.cleanAperture))
        let coded = try HEIFDecoder.decode(bytes, applyingTransformations: false)
        #expect(HEIFTransform.applied(transforms, to: coded) == nil)
    }
}
