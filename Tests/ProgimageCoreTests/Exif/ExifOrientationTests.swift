import ProgimageAPI
import ProgimageCore
import Testing

@Suite("ExifOrientation values")
struct ExifOrientationValueTests {
    @Test func onlyTheTransposingOrientationsSwapSides() {
        let swapping = ExifOrientation.allCases.filter(\.swapsSides)
        #expect(swapping == [.leftMirrored, .right, .rightMirrored, .left])
    }

    @Test(arguments: [0, 9, -1, 255, 65_535])
    func outOfRangeTagValuesMeanUp(value: Int) {
        #expect(ExifOrientation(tagValue: value) == .up)
    }

    @Test func inRangeTagValuesMapOneToOne() {
        for value in 1...8 {
            #expect(ExifOrientation(tagValue: value).rawValue == value)
        }
    }
}

@Suite("ExifOrientation containers")
struct ExifOrientationContainerTests {
    @Test(arguments: 1...8)
    func tiffInBothByteOrders(value: Int) {
        for bigEndian in [true, false] {
            let bytes = ExifFixture.tiff(orientation: UInt16(value), bigEndian: bigEndian)
            #expect(ExifOrientation.read(from: bytes, format: .tiff).rawValue == value)
        }
    }

    @Test func longTypedTagIsAccepted() {
        let bytes = ExifFixture.tiff(bigEndian: false, entries: [ExifFixture.orientationEntry(6, type: 4)])
        #expect(ExifOrientation.read(from: bytes, format: .tiff) == .right)
    }

    @Test func nonIntegerTypedTagMeansUp() {
        let bytes = ExifFixture.tiff(bigEndian: true, entries: [ExifFixture.orientationEntry(6, type: 2)])
        #expect(ExifOrientation.read(from: bytes, format: .tiff) == .up)
    }

    @Test func tiffWithoutTheTagMeansUp() {
        let bytes = ExifFixture.tiff(
            bigEndian: true, entries: [ExifFixture.Entry(tag: 0x0100, type: 3, count: 1, value: 8)])
        #expect(ExifOrientation.read(from: bytes, format: .tiff) == .up)
    }

    @Test func bigTIFFInBothByteOrders() {
        for bigEndian in [true, false] {
            let bytes = ExifFixture.bigTIFF(orientation: 8, bigEndian: bigEndian)
            #expect(ExifOrientation.read(from: bytes, format: .tiff) == .left)
        }
    }

    @Test(arguments: 1...8)
    func jpegApp1(value: Int) {
        let bytes = ExifFixture.jpeg(tiff: ExifFixture.tiff(orientation: UInt16(value), bigEndian: value % 2 == 0))
        #expect(ExifOrientation.read(from: bytes, format: .jpg).rawValue == value)
    }

    @Test func jpegSkipsXMPAndFillBytesBeforeExif() {
        let xmp = Array("http://ns.adobe.com/xap/1.0/".utf8) + [0] + Array("<x:xmpmeta/>".utf8)
        var bytes = ExifFixture.jpeg(segments: [
            (0xE1, xmp), (0xE1, ExifFixture.exifHeader + ExifFixture.tiff(orientation: 3)),
        ])
        // Insert fill bytes before the second APP1's marker.
        let secondApp1 = 2 + 18 + 4 + xmp.count
        bytes.insert(contentsOf: [0xFF, 0xFF], at: secondApp1)
        #expect(ExifOrientation.read(from: bytes, format: .jpg) == .down)
    }

    @Test func jpegIgnoresExifAfterTheScan() {
        let late = ExifFixture.segment(0xE1, ExifFixture.exifHeader + ExifFixture.tiff(orientation: 6))
        let bytes = ExifFixture.jpeg(segments: [], afterScan: late)
        #expect(ExifOrientation.read(from: bytes, format: .jpg) == .up)
    }

    @Test func pngExifBeforeImageData() {
        #expect(
            ExifOrientation.read(from: ExifFixture.png(exif: ExifFixture.tiff(orientation: 5)), format: .png)
                == .leftMirrored)
    }

    @Test func pngExifWithJPEGStyleHeader() {
        let exif = ExifFixture.exifHeader + ExifFixture.tiff(orientation: 7, bigEndian: false)
        #expect(ExifOrientation.read(from: ExifFixture.png(exif: exif), format: .png) == .rightMirrored)
    }

    @Test func pngExifAfterImageDataIsIgnored() {
        let bytes = ExifFixture.png(exif: ExifFixture.tiff(orientation: 6), beforeImageData: false)
        #expect(ExifOrientation.read(from: bytes, format: .png) == .up)
    }

    @Test func webpExifWithAndWithoutHeader() {
        let tiff = ExifFixture.tiff(orientation: 6, bigEndian: false)
        #expect(ExifOrientation.read(from: ExifFixture.webp(exif: tiff), format: .webp) == .right)
        #expect(
            ExifOrientation.read(from: ExifFixture.webp(exif: ExifFixture.exifHeader + tiff), format: .webp) == .right)
    }

    @Test(arguments: [ImageFormat.heic, .avif, .gif, .bmp])
    func formatsWithoutEXIFOrientationAnswerUp(format: ImageFormat) {
        // Even bytes that hold a valid structure: these formats never take rotation from EXIF.
        #expect(
            ExifOrientation.read(from: ExifFixture.jpeg(tiff: ExifFixture.tiff(orientation: 6)), format: format) == .up)
    }

    @Test func sliceWithNonZeroStartIndex() {
        let jpeg = ExifFixture.jpeg(tiff: ExifFixture.tiff(orientation: 8))
        let padded = [UInt8](repeating: 0xAA, count: 37) + jpeg + [1, 2, 3]
        let slice = padded[37..<(37 + jpeg.count)]
        #expect(ExifOrientation.read(from: slice, format: .jpg) == .left)
    }

    @Test func wrongContainerForTheBytesMeansUp() {
        let jpeg = ExifFixture.jpeg(tiff: ExifFixture.tiff(orientation: 6))
        #expect(ExifOrientation.read(from: jpeg, format: .png) == .up)
        #expect(ExifOrientation.read(from: jpeg, format: .webp) == .up)
        #expect(ExifOrientation.read(from: jpeg, format: .tiff) == .up)
        #expect(ExifOrientation.read(from: [], format: .jpg) == .up)
    }
}
