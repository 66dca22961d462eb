import ProgimageAPI
import ProgimageCore
import Testing

/// The size read, or a test failure naming the error.
func readHeaderSize(_ bytes: [UInt8], _ format: ImageFormat, sourceLocation: SourceLocation = #_sourceLocation)
    -> [Int]?
{
    do {
        let header = try ImageHeader.read(bytes, format: format)
        #expect(header.format == format, sourceLocation: sourceLocation)
        return [header.width, header.height]
    } catch {
        Issue.record("read threw \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Expects `corrupt_image`, the only error a header reader may throw.
func expectCorruptHeader(_ bytes: [UInt8], _ format: ImageFormat, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        let header = try ImageHeader.read(bytes, format: format)
        Issue.record("read returned \(header.width)×\(header.height)", sourceLocation: sourceLocation)
    } catch {
        #expect(error.code == .corruptImage, sourceLocation: sourceLocation)
    }
}
