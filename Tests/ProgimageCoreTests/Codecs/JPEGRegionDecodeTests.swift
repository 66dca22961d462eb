import GD
import ProgimageAPI
import Testing
import TurboJPEG

@testable import ProgimageCore

/// A chain that starts with a crop decodes only the region (`pg_jpeg_read_region`): its
/// pixels must be exactly those of the same region cut from a whole decode, at every
/// chroma subsampling, on iMCU boundaries and off them, baseline and progressive.
@Suite struct JPEGRegionDecodeTests {
    static func noisyJPEG(width: Int, height: Int, subsampling: TurboJPEGEncoder.Subsampling) throws -> [UInt8] {
        var state: UInt32 = 12345
        var bgrx = [UInt8](repeating: 0, count: width * height * 4)
        for i in 0..<bgrx.count {
            state = state &* 1_103_515_245 &+ 12345
            bgrx[i] = UInt8(truncatingIfNeeded: (i / 4 % width) * 3 + (i % 4) * 40 + Int(state >> 27))
        }
        return try TurboJPEGEncoder.encode(
            bgrx: bgrx, width: width, height: height, stride: width * 4, quality: 90, subsampling: subsampling)
    }

    static let regions = [
        (0, 0, 203, 131), (1, 1, 50, 40), (16, 16, 64, 64), (8, 0, 17, 131), (202, 130, 1, 1), (32, 17, 100, 100),
        (187, 3, 16, 120),
    ]

    static func expectRegionsMatch(_ jpeg: [UInt8], regions: [(Int, Int, Int, Int)]) throws {
        let whole = try ImageDecoder.decode(jpeg, format: .jpg, maxPixels: 1 << 24)
        let size = ImageSize(width: whole.width, height: whole.height)
        for (x, y, width, height) in regions {
            let clipped = try CropOperation(x: x, y: y, width: width, height: height).clipped(to: size)
            guard let region = try ImageDecoder.decodeJPEG(jpeg, maxPixels: 1 << 24, region: clipped) else {
                Issue.record("an upright JPEG was not region-decoded")
                continue
            }
            let reference = try ImageDecoder.decode(jpeg, format: .jpg, maxPixels: 1 << 24)
                .cropped(x: clipped.x, y: clipped.y, width: clipped.width, height: clipped.height)
            #expect(region.width == clipped.width && region.height == clipped.height)
            #expect(region.interleaved(alpha: false) == reference.interleaved(alpha: false), "region \(x),\(y),\(width),\(height)")
        }
    }

    @Test(arguments: [TurboJPEGEncoder.Subsampling.s444, .s422, .s420, .grey])
    func regionIsExactlyTheWholeDecodesRegion(subsampling: TurboJPEGEncoder.Subsampling) throws {
        try Self.expectRegionsMatch(Self.noisyJPEG(width: 203, height: 131, subsampling: subsampling), regions: Self.regions)
    }

    /// The restart-marked copy (`JPEGRestarts.restartMarkedCopy`): a region below the first
    /// MCU rows is decoded from a restart marker above it, not from the top, and must still
    /// be exactly the whole decode's, at every subsampling, on MCU boundaries and off them.
    @Test(arguments: [TurboJPEGEncoder.Subsampling.s444, .s422, .s420, .grey])
    func regionEnteredAtARestartIsExact(subsampling: TurboJPEGEncoder.Subsampling) throws {
        let original = try Self.noisyJPEG(width: 203, height: 131, subsampling: subsampling)
        let copy = try #require(JPEGRestarts.restartMarkedCopy(of: original))
        try Self.expectRegionsMatch(
            copy, regions: Self.regions + [(0, 32, 203, 99), (5, 47, 60, 60), (0, 130, 203, 1), (100, 64, 3, 16), (9, 33, 1, 1)])
    }

    /// libjpeg-turbo's own test images: baseline 4:2:0 and progressive.
    @Test(arguments: ["jpeg/libjpeg-turbo/testorig.jpg", "jpeg/libjpeg-turbo/testimgint.jpg"])
    func corpusRegionsMatch(file: String) throws {
        try Self.expectRegionsMatch(
            Corpus.bytes(file), regions: [(0, 0, 227, 149), (16, 16, 48, 32), (1, 100, 200, 49), (220, 0, 7, 7)])
    }

    /// An EXIF-rotated photo takes the whole decode: the region is in display coordinates.
    @Test func rotatedSourceIsNotRegionDecoded() throws {
        let rotated = Corpus.bytes("jpeg/exif-orientation/Landscape_6.jpg")
        if try ImageDecoder.decodeJPEG(rotated, maxPixels: 1 << 24, region: (0, 0, 10, 10)) != nil {
            Issue.record("an EXIF-rotated JPEG was region-decoded in stored coordinates")
        }
    }

    /// Our encoder reads libgd's rows where they are; TurboJPEG compressed one contiguous
    /// copy of them. Same library, same settings: the same bytes.
    @Test(arguments: [false, true])
    func rowEncoderWritesTurboJPEGsBytes(grey: Bool) throws {
        var rgba = [UInt8](repeating: 255, count: 203 * 131 * 4)
        for i in 0..<203 * 131 {
            let v = UInt8(truncatingIfNeeded: i * 7 % 251)
            (rgba[i * 4], rgba[i * 4 + 1], rgba[i * 4 + 2]) = (v, grey ? v : v &* 3, grey ? v : UInt8(i % 203))
        }
        let image = try GDImage(width: 203, height: 131, pixels: rgba, stride: 203 * 4, layout: .rgba)
        let ours = try image.jpegEncoded(quality: 82, grey: grey)
        let reference = try TurboJPEGEncoder.encode(
            bgrx: image.packedBGRX(), width: 203, height: 131, stride: 203 * 4, quality: 82, subsampling: grey ? .grey : .s420)
        #expect(ours == reference)
    }

    /// Past a megapixel the encoder writes two halves on two threads and splices them at a
    /// restart marker: the decoded pixels must be exactly those of one TurboJPEG encode
    /// (restarts reset only the DC prediction), at heights that split off an MCU boundary.
    @Test(arguments: [(1100, 1000, false), (1100, 1023, true), (1031, 1041, false)])
    func splicedHalvesDecodeAsOneEncode(width: Int, height: Int, grey: Bool) throws {
        var rgba = [UInt8](repeating: 255, count: width * height * 4)
        var state: UInt32 = 99
        for i in 0..<width * height {
            state = state &* 1_664_525 &+ 1_013_904_223
            let v = UInt8(truncatingIfNeeded: (i % width) / 5 + (i / width) / 7 + Int(state >> 28))
            (rgba[i * 4], rgba[i * 4 + 1], rgba[i * 4 + 2]) = (v, grey ? v : v &+ 60, grey ? v : UInt8(i / width % 256))
        }
        let image = try GDImage(width: width, height: height, pixels: rgba, stride: width * 4, layout: .rgba)
        let ours = try image.jpegEncoded(quality: 82, grey: grey)
        let reference = try TurboJPEGEncoder.encode(
            bgrx: image.packedBGRX(), width: width, height: height, stride: width * 4, quality: 82,
            subsampling: grey ? .grey : .s420)
        #expect(ours != reference, "large enough to be spliced")
        let a = try ImageDecoder.decode(ours, format: .jpg, maxPixels: 1 << 24)
        let b = try ImageDecoder.decode(reference, format: .jpg, maxPixels: 1 << 24)
        #expect(a.width == width && a.height == height)
        #expect(a.interleaved(alpha: false) == b.interleaved(alpha: false))
        // A restart costs its two marker bytes, the bits padding the interval to a byte, and
        // a DC coded afresh: at most ~4 bytes an MCU row here (and the DRI segment's six).
        #expect(ours.count - reference.count <= 4 * (height + 15) / (grey ? 8 : 16) + 6)
    }

    /// A grey image is written with one component (SOF's component count) and reads back
    /// grey, within JPEG's error of the three-component encode.
    @Test func greyImageIsWrittenAsOneComponent() throws {
        var rgba = [UInt8](repeating: 255, count: 64 * 48 * 4)
        for i in 0..<64 * 48 {
            let level = UInt8(i % 64 * 4)
            (rgba[i * 4], rgba[i * 4 + 1], rgba[i * 4 + 2]) = (level, level, level)
        }
        let grey = try GDImage(width: 64, height: 48, pixels: rgba, stride: 64 * 4, layout: .rgba)
        let jpeg = try ImageEncoder.encode(grey, as: .jpg, quality: 90)
        let sof = try #require(jpeg.indices.first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        #expect(jpeg[sof + 9] == 1, "one component")
        let decoded = try ImageDecoder.decode(jpeg, format: .jpg, maxPixels: 1 << 20)
        let pixels = decoded.interleaved(alpha: false)
        let worst = (0..<64 * 48).map { i in abs(Int(pixels[i * 3]) - Int(rgba[i * 4])) }.max() ?? 255
        #expect(decoded.isGrey && worst <= 3)
    }
}
