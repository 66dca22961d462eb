import ProgimageAPI

extension ImageHeader {
    /// The size in the first frame header (SOFn).
    static func readJPEG(_ reader: ByteReader) throws(ServiceError) -> ImageHeader {
        guard reader.matches(FormatSniffer.jpegSignature) else { throw reader.corrupt("missing SOI marker") }
        var size: (width: Int, height: Int)?
        let end = try JPEGSegments(reader: reader, skippingStrayBytes: true).walk { segment throws(ServiceError) in
            guard isStartOfFrame(segment.marker) else { return false }
            // Layout after the length: precision(1) height(2) width(2).
            guard segment.payload.count >= 6 else { throw reader.corrupt("frame header too short") }
            size = (Int(try segment.payload.u16(3, .big)), Int(try segment.payload.u16(1, .big)))
            return true
        }
        guard let size else {
            throw reader.corrupt("no frame header before \(end == .scan ? "scan" : "image boundary")")
        }
        return try ImageHeader(format: .jpg, width: size.width, height: size.height)
    }

    /// SOF0–SOF15 less DHT (C4), JPG (C8) and DAC (CC), which share the range.
    static func isStartOfFrame(_ marker: UInt8) -> Bool {
        (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
    }
}
