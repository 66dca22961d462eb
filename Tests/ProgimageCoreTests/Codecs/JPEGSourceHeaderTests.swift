import ProgimageAPI
import Testing
import TurboJPEG

@testable import ProgimageCore

/// The DCT scale a JPEG original is decoded at, from its header read once: the first
/// resize's factor, capped by the chroma sampling, and for an EXIF-turned file only a
/// factor dividing both stored sides.
@Suite struct JPEGSourceHeaderTests {
    /// `jpeg` with an APP1 "Exif" segment carrying `orientation` right after SOI.
    static func turned(_ jpeg: [UInt8], orientation: UInt16) -> [UInt8] {
        let payload = Array("Exif".utf8) + [0, 0] + ExifFixture.tiff(orientation: orientation)
        let length = payload.count + 2
        return [0xFF, 0xD8, 0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload + jpeg.dropFirst(2)
    }

    @Test(arguments: [
        // stored size, sampling, orientation, first operation, expected factor
        (1600, 1200, TurboJPEGEncoder.Subsampling.s420, UInt16(1), "resize:200x", 8),
        (1600, 1200, .s422, 1, "resize:200x", 2),
        (1600, 1200, .s420, 1, "resize:900x", 1),
        (1600, 1200, .s420, 6, "resize:150x", 8),
        (1601, 1200, .s420, 6, "resize:150x", 1),
        (1604, 1200, .s420, 6, "resize:150x", 4),
        (1601, 1200, .s420, 1, "resize:200x", 8),
    ])
    func shrink(width: Int, height: Int, sampling: TurboJPEGEncoder.Subsampling, orientation: UInt16, operation: String, factor: Int)
        throws
    {
        let plain = try JPEGRegionDecodeTests.noisyJPEG(width: width, height: height, subsampling: sampling)
        let jpeg = orientation == 1 ? plain : Self.turned(plain, orientation: orientation)
        let header = try JPEGSourceHeader(jpeg)
        #expect(header.stored == ImageSize(width: width, height: height))
        #expect(header.orientation == ExifOrientation(tagValue: Int(orientation)))
        let displayed = header.orientation.swapsSides ? ImageSize(width: height, height: width) : header.stored
        let chain = try OperationParser.parse(operation[...], format: .jpg).chain
        #expect(header.shrink(source: displayed, chain: chain) == factor)
    }
}
