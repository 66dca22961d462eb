import GD
import ProgimageAPI
import Testing
import JPEG
import TurboJPEG

@testable import ProgimageCore

/// The JPEG paths that work on rows as a helper thread's decode publishes them. A chain
/// that starts with a blur decodes and blurs at once, and `blur:σ.jpg` alone also encodes
/// in the same pass, in segments spliced at restart markers; a thumbnail is resampled band
/// by band. Each must give exactly what the long way gives (decode into a buffer, then the
/// step, then `ImageEncoder.encode`), and a file that fails mid-decode must fail the
/// request, not hang it.
@Suite struct StreamedJPEGTests {
    /// Noise over gradients; `grey` as one component, `greyInColour` as three whose chroma
    /// is flat (decoded grey, so the encoder's grey decision waits for the last row).
    static func jpeg(width: Int, height: Int, grey: Bool = false, greyInColour: Bool = false) throws -> [UInt8] {
        var generator = SeededGenerator(seed: UInt64(width * 31 + height))
        var bgrx = [UInt8](repeating: 255, count: width * height * 4)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 4
                let level = UInt8(truncatingIfNeeded: x / 4 + y / 3 + Int.random(in: 0..<40, using: &generator))
                bgrx[i] = level
                bgrx[i + 1] = grey || greyInColour ? level : UInt8(truncatingIfNeeded: y)
                bgrx[i + 2] = grey || greyInColour ? level : UInt8(truncatingIfNeeded: x &* 3)
            }
        }
        return try TurboJPEGEncoder.encode(
            bgrx: bgrx, width: width, height: height, stride: width * 4, quality: 90, subsampling: grey ? .grey : .s420)
    }

    static func longWay(_ jpeg: [UInt8], sigma: Double, quality: Int = 82) throws -> [UInt8] {
        let decoded = try ImageDecoder.decode(jpeg, format: .jpg, maxPixels: 1 << 24)
        return try ImageEncoder.encode(decoded.blurred(sigma: sigma), as: .jpg, quality: quality)
    }

    static func canonical(_ sigma: Double) -> String {
        sigma == sigma.rounded() ? String(Int(sigma)) : String(sigma)
    }

    static func render(_ jpeg: [UInt8], _ chain: String) throws -> [UInt8] {
        let source = try ImageDecoder.storedSize(of: jpeg, format: .jpg)
        let parsed = try OperationParser.parse(chain[..<chain.lastIndex(of: ".")!], format: .jpg).chain
        return try ImagePipeline(maxPixels: 1 << 24, maxOutputSide: 8192).render(
            jpeg, format: .jpg, source: source, chain: parsed)
    }

    /// Past a megapixel (segments spliced), under it (one segment, no restart markers),
    /// grey, grey in three components, narrow and wide kernels.
    @Test(arguments: [
        (1100, 960, false, false, 2.0), (1100, 961, true, false, 2.0), (640, 430, false, false, 0.6),
        (640, 430, false, true, 3.0), (1030, 1020, false, true, 1.0),
    ])
    func blurToJPEGWritesTheLongWaysBytes(width: Int, height: Int, grey: Bool, greyInColour: Bool, sigma: Double) throws {
        let jpeg = try Self.jpeg(width: width, height: height, grey: grey, greyInColour: greyInColour)
        let fused = try #require(try GDImage.blurredJPEG(jpeg, sigma: sigma, quality: 82), "the fused path applies")
        let expected = try Self.longWay(jpeg, sigma: sigma)
        #expect(fused == expected, "\(width)×\(height) grey \(grey) σ \(sigma)")
        let sof = try #require(fused.indices.first { fused[$0] == 0xFF && fused[$0 + 1] == 0xC0 })
        #expect((fused[sof + 9] == 1) == (grey || greyInColour), "grey output as one component")
        #expect(try Self.render(jpeg, "blur:\(Self.canonical(sigma))/quality:70.jpg") == Self.longWay(jpeg, sigma: sigma, quality: 70))
        // From quality 90 chroma is whole (8-row MCUs): the segments still splice into the
        // long way's bytes, and into a JPEG that decodes completely.
        let high = try Self.render(jpeg, "blur:\(Self.canonical(sigma))/quality:95.jpg")
        #expect(high == (try Self.longWay(jpeg, sigma: sigma, quality: 95)))
        let decoded = try ImageDecoder.decode(high, format: .jpg, maxPixels: 1 << 26)
        #expect(decoded.width == width && decoded.height == height)
    }

    /// A blur followed by more of the chain: decoded and blurred at once into a second image.
    @Test(arguments: [(1100, 960, 2.0), (300, 200, 1.5), (640, 430, 0.3)])
    func decodeAndBlurIsTheLongWay(width: Int, height: Int, sigma: Double) throws {
        let jpeg = try Self.jpeg(width: width, height: height)
        guard let streamed = try GDImage.decodedJPEG(jpeg, blurredBy: sigma) else {
            Issue.record("the streamed decode applies")
            return
        }
        let expected = try ImageDecoder.decode(jpeg, format: .jpg, maxPixels: 1 << 24).blurred(sigma: sigma)
        #expect(streamed.interleaved(alpha: false) == expected.interleaved(alpha: false))
        #expect(try Self.render(jpeg, "blur:\(Self.canonical(sigma))/flip:h.png") != [])
    }

    /// The thumbnail path: DCT-scaled, resampled as rows arrive; against TurboJPEG's decode
    /// into a buffer and `tentResampled(bgrx:…)`, at every scale, grey and 4:4:4 too; outputs
    /// under 1 << 18 pixels decode, then resample, on one thread, 600×450 on two.
    @Test(arguments: [
        (1100, 960, 4, 270, 235), (1100, 960, 2, 512, 447), (1100, 960, 8, 130, 114), (640, 430, 1, 639, 429),
        (1100, 960, 1, 600, 450),
    ])
    func thumbnailIsTheBufferedDecodesPixels(width: Int, height: Int, scale: Int, toWidth: Int, toHeight: Int) throws {
        for (grey, subsampling) in [(false, TurboJPEGEncoder.Subsampling.s420), (true, .grey), (false, .s444)] {
            var generator = SeededGenerator(seed: UInt64(width + scale))
            let bgrx = (0..<width * height * 4).map { i in
                UInt8(truncatingIfNeeded: i / 4 % width / 3 + i / (4 * width) + Int.random(in: 0..<30, using: &generator))
            }
            let jpeg = try TurboJPEGEncoder.encode(
                bgrx: bgrx, width: width, height: height, stride: width * 4, quality: 90, subsampling: subsampling)
            guard let streamed = try GDImage.decodedJPEG(jpeg, scaleDenominator: scale, resizedTo: toWidth, toHeight) else {
                Issue.record("the streamed thumbnail applies")
                continue
            }
            let buffered = try JPEGDecoder.decode(jpeg, scaleDenominator: scale)
            // 1100 / 8 is 137.5 columns of picture in 138: both map what the rows stand for.
            let reference = try GDImage.tentResampled(
                bgrx: buffered.bytes, width: buffered.width, height: buffered.height, stride: buffered.stride,
                toWidth: toWidth, toHeight: toHeight,
                extent: ImageDecoder.dctScaledExtent(of: ImageSize(width: width, height: height), shrink: scale))
            #expect(
                streamed.interleaved(alpha: false) == reference.interleaved(alpha: false),
                "\(width)×\(height) 1/\(scale) → \(toWidth)×\(toHeight) grey \(grey)")
        }
    }

    /// The thumbnail encoded as its bands are resampled (`GDImage.thumbnailJPEG`): the bytes
    /// of the streamed image encoded afterwards by `ImageEncoder`, and the pipeline's answer
    /// for `resize` alone. Colour, grey as one component, grey in three (the grey decision
    /// waits for the last band), colour only in the last rows (it waits that long too);
    /// outputs under 1 << 18 pixels on one thread besides the encoder's, 600×450 on two.
    @Test(arguments: [
        (1100, 960, 4, 270, 235), (1100, 960, 2, 512, 447), (1100, 960, 2, 600, 450), (2000, 1400, 2, 1000, 700),
    ])
    func thumbnailEncodedAsItComesIsTheLongWay(width: Int, height: Int, scale: Int, toWidth: Int, toHeight: Int) throws {
        var colourAtTheBottom = try Self.jpeg(width: width, height: height, greyInColour: true)
        do {
            var bgrx = [UInt8](repeating: 128, count: width * height * 4)
            for i in stride(from: (height - 24) * width * 4, to: bgrx.count, by: 4) { bgrx[i] = 40 }
            colourAtTheBottom = try TurboJPEGEncoder.encode(
                bgrx: bgrx, width: width, height: height, stride: width * 4, quality: 90, subsampling: .s420)
        }
        let sources: [(String, [UInt8], Bool)] = [
            ("colour", try Self.jpeg(width: width, height: height), false),
            ("grey", try Self.jpeg(width: width, height: height, grey: true), true),
            ("grey in colour", try Self.jpeg(width: width, height: height, greyInColour: true), true),
            ("colour at the bottom", colourAtTheBottom, false),
        ]
        for (name, jpeg, grey) in sources {
            guard
                let fused = try GDImage.thumbnailJPEG(jpeg, scaleDenominator: scale, resizedTo: toWidth, toHeight, quality: 75),
                let streamed = try GDImage.decodedJPEG(jpeg, scaleDenominator: scale, resizedTo: toWidth, toHeight)
            else {
                Issue.record("\(name): the streamed thumbnail applies")
                continue
            }
            #expect(fused == (try ImageEncoder.encode(streamed, as: .jpg, quality: 75)), "\(name) \(width)×\(height) 1/\(scale)")
            let sof = try #require(fused.indices.first { fused[$0] == 0xFF && fused[$0 + 1] == 0xC0 })
            #expect((fused[sof + 9] == 1) == grey, "\(name): grey output as one component")
        }
        // Two flips after the resize: the same pixels, encoded the long way.
        let jpeg = try Self.jpeg(width: width, height: height)
        #expect(
            try Self.render(jpeg, "resize:\(toWidth)x\(toHeight),force.jpg")
                == Self.render(jpeg, "resize:\(toWidth)x\(toHeight),force/flip:h/flip:h.jpg"))
        #expect(try Self.render(jpeg, "resize:\(toWidth)x/quality:60.jpg") == Self.render(jpeg, "resize:\(toWidth)x/flip:v/flip:v/quality:60.jpg"))
    }

    /// Over a megapixel `pg_jpeg_encode` writes two halves on two threads: not this path.
    @Test func largeOutputsTakeTheLongWay() throws {
        let jpeg = try Self.jpeg(width: 3000, height: 1400)
        #expect(try GDImage.thumbnailJPEG(jpeg, scaleDenominator: 2, resizedTo: 1500, 700, quality: 80) == nil)
        #expect(try GDImage.thumbnailJPEG(jpeg, scaleDenominator: 2, resizedTo: 1400, 700, quality: 80) != nil)
    }

    /// Cut mid-scan, the decode fails while the other thread waits for its rows: both
    /// paths answer a corrupt image, promptly.
    @Test(arguments: [0.3, 0.6, 0.95])
    func truncatedSourceFailsBothWays(fraction: Double) throws {
        let jpeg = try Self.jpeg(width: 1100, height: 960)
        let cut = Array(jpeg.prefix(Int(Double(jpeg.count) * fraction)))
        for chain in ["blur:2.jpg", "blur:2/flip:h.jpg", "resize:300x.jpg", "resize:300x/flip:h.jpg"] {
            do {
                _ = try Self.render(cut, chain)
                Issue.record("\(chain) of a JPEG cut at \(fraction) rendered")
            } catch let error as ServiceError {
                #expect(error.code == .corruptImage, "\(chain): \(error)")
            }
        }
    }
}
