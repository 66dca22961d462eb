import JXL
import ProgimageAPI

extension ImageHeader {
    /// A JPEG XL's size from libjxl's basic-info event, which reads the header and stops:
    /// its size fields are variable-length bit fields (and may follow a container's boxes),
    /// so libjxl's own reader is used rather than a second one. The size is the displayed
    /// one: libjxl hands frames upright, applying the codestream's orientation.
    static func readJXL(_ bytes: [UInt8]) throws(ServiceError) -> ImageHeader {
        do {
            let size = try JXLDecoder.size(of: bytes)
            return try ImageHeader(format: .jxl, width: size.width, height: size.height)
        } catch let error as ServiceError {
            throw error
        } catch {
            throw ServiceError(.corruptImage, "jxl: the header is not readable")
        }
    }
}
