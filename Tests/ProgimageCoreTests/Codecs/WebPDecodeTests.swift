import Foundation
import GD
import ProgimageAPI
import Testing
import WebP

@testable import ProgimageCore

/// WebP goes through libwebp's animation decoder: animated files, which libgd 2.3.3
/// refused as corrupt, give their first frame on the canvas; still files give what
/// libgd gave.
@Suite struct WebPDecodeTests {
    /// 16×12 canvas; frame 1 is 6×4 red at (4, 2), frame 2 is 8×6 blue at (8, 6)
    /// (`Fixtures/make_animated_webp.py`).
    static let animated: [UInt8] = {
        let url = Corpus.packageRoot.appendingPathComponent("Tests/ProgimageCoreTests/Fixtures/animated-offset.webp")
        guard let data = try? Data(contentsOf: url) else { fatalError("fixture missing: \(url.path)") }
        return [UInt8](data)
    }()

    static let ingest = ImageIngest(maxUploadBytes: 1 << 24, maxPixels: 1 << 24)

    @Test func animatedFileGivesItsFirstFrameOnTheCanvas() throws {
        let image = try ImageDecoder.decode(Self.animated, format: .webp, maxPixels: 1 << 20)
        #expect(image.width == 16 && image.height == 12)
        for (x, y) in [(4, 2), (9, 2), (4, 5), (9, 5)] {
            #expect(image.pixel(x: x, y: y) == 0x00FF_0000, "(\(x), \(y)) is in the red first frame")
        }
        for (x, y) in [(0, 0), (3, 2), (10, 2), (4, 6), (12, 9), (15, 11)] {
            #expect(image.pixel(x: x, y: y) >> 24 == 127, "(\(x), \(y)) is transparent canvas")
        }
    }

    @Test func animatedFileIsAcceptedAtTheHeadersCanvasSize() throws {
        let inspected = try Self.ingest.inspect(Self.animated)
        let header = try ImageHeader.read(Self.animated, format: .webp)
        #expect(inspected.format == .webp)
        #expect(inspected.size == ImageSize(width: header.width, height: header.height))
        #expect(inspected.size == ImageSize(width: 16, height: 12))
    }

    @Test func decoderReportsFramesAndAlpha() throws {
        let pixels = try WebPDecoder.decode(Self.animated)
        #expect(pixels.frameCount == 2)
        #expect(pixels.hasAlpha)
        #expect(pixels.iccProfile == nil)
        #expect(pixels.rgba.count == 16 * 12 * 4)
        #expect(Array(pixels.rgba[(2 * 16 + 4) * 4..<(2 * 16 + 4) * 4 + 4]) == [255, 0, 0, 255])
    }

    /// A first-frame decode never reads the second frame, so the cut must be caught by the
    /// demuxer walking the whole file, whether or not the RIFF size was fixed up.
    @Test(arguments: [10, 30])
    func animatedFileCutInItsLastFrameIsRefused(cut: Int) {
        var bytes = Array(Self.animated.dropLast(cut))
        for patchRIFFSize in [false, true] {
            if patchRIFFSize {
                let size = bytes.count - 8
                bytes.replaceSubrange(4..<8, with: (0..<4).map { UInt8(truncatingIfNeeded: size >> (8 * $0)) })
            }
            do {
                let inspected = try Self.ingest.inspect(bytes)
                Issue.record("cut by \(cut) (RIFF size patched: \(patchRIFFSize)) accepted as \(inspected.size)")
            } catch {
                #expect(error.code == .corruptImage)
            }
        }
        #expect(throws: WebPError.incomplete) { _ = try WebPDecoder.decode(Array(Self.animated.dropLast(cut))) }
    }

    /// The ICCP payload is handed out as it is, for colour management above this layer.
    @Test func iccProfileIsExposed() throws {
        let still = Corpus.bytes("webp/libwebp-test-data/lossless_vec_1_0.webp")
        #expect(try WebPDecoder.decode(still).iccProfile == nil)
        let profile: [UInt8] = Array("not a real profile, just bytes".utf8)
        func chunk(_ fourcc: String, _ payload: [UInt8]) -> [UInt8] {
            Array(fourcc.utf8) + le32(payload.count) + payload + (payload.count % 2 == 1 ? [0] : [])
        }
        func le32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        // VP8X with the ICC (0x20) and alpha (0x10) flags, 16×16 canvas, then the VP8L chunk.
        let vp8x = chunk("VP8X", [0x30, 0, 0, 0, 15, 0, 0, 15, 0, 0])
        let body = Array("WEBP".utf8) + vp8x + chunk("ICCP", profile) + Array(still[12...])
        let extended = Array("RIFF".utf8) + le32(body.count) + body
        let decoded = try WebPDecoder.decode(extended)
        #expect(decoded.iccProfile == profile)
        #expect(decoded.width == 16 && decoded.height == 16 && decoded.frameCount == 1)
        #expect(decoded.rgba == (try WebPDecoder.decode(still)).rgba)
    }

    /// Still files decode to exactly libgd's colours (both are libwebp underneath), at the
    /// manifest's size. Alpha too, except where the file has none: there every pixel is
    /// opaque, where libgd (libwebp 1.2.4) makes an out-of-range palette index transparent.
    @Test(arguments: Corpus.entries.filter { $0.format == "webp" && $0.expect == "valid" }.map(\.file))
    func corpusStillMatchesLibgd(file: String) throws {
        let entry = try #require(Corpus.entries.first { $0.file == file })
        let bytes = Corpus.bytes(file)
        let image = try ImageDecoder.decode(bytes, format: .webp, maxPixels: 1 << 30)
        let reference = try GDImage.decode(bytes, codec: .webp)
        #expect(image.width == entry.width && image.height == entry.height)
        #expect(image.width == reference.width && image.height == reference.height)
        if try WebPDecoder.decode(bytes).hasAlpha {
            #expect(image.interleaved(alpha: true) == reference.interleaved(alpha: true))
        } else {
            let opaque = image.isOpaque
            #expect(opaque)
            let visible = zip(image.interleaved(alpha: true).chunks4, reference.interleaved(alpha: true).chunks4)
                .filter { $0.1[3] == 255 }
            #expect(visible.allSatisfy { $0.0 == $0.1 })
        }
    }
}

extension Array where Element == UInt8 {
    /// Consecutive groups of four bytes (one pixel).
    fileprivate var chunks4: [[UInt8]] { stride(from: 0, to: count, by: 4).map { Array(self[$0..<$0 + 4]) } }
}
