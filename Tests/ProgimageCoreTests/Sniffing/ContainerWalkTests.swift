import Testing

import ProgimageAPI
@testable import ProgimageCore

/// Where the shared container walkers must keep each caller's old strictness.
@Suite struct ContainerWalkTests {
    /// The header reads a frame header's size even when the file ends inside that segment.
    @Test func jpegHeaderReadsATruncatedFrameHeader() throws {
        let bytes: [UInt8] = [0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x0A, 0x00, 0x14, 0x03]
        let header = try ImageHeader.read(bytes, format: .jpg)
        #expect(header.width == 20 && header.height == 10)
    }

    /// EXIF's orientation is a SHORT (or LONG): a BigTIFF LONG8 one is not honoured.
    @Test func exifOrientationIgnoresALong8Value() {
        var tiff: [UInt8] = Array("II".utf8) + [43, 0, 8, 0, 0, 0]
        tiff += [16, 0, 0, 0, 0, 0, 0, 0]  // IFD0 at 16
        tiff += [1, 0, 0, 0, 0, 0, 0, 0]  // one entry
        tiff += [0x12, 0x01, 16, 0] + [1, 0, 0, 0, 0, 0, 0, 0] + [6, 0, 0, 0, 0, 0, 0, 0]
        tiff += [0, 0, 0, 0, 0, 0, 0, 0]
        #expect(ExifTIFFStructure.orientationValue(in: ByteReader(tiff, label: "exif")) == nil)
        var short = tiff
        short[26] = 3  // the same entry as a SHORT
        #expect(ExifTIFFStructure.orientationValue(in: ByteReader(short, label: "exif")) == 6)
    }
}
