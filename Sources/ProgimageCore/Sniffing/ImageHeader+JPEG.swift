import ProgimageAPI

extension ImageHeader {
    /// The size in the first frame header (SOFn), reached by walking segments from SOI.
    ///
    /// EXIF and ICC segments routinely hold tens of kilobytes before the frame header,
    /// so the walk skips segments by their length rather than scanning a fixed prefix.
    /// Stray bytes between segments are skipped up to the next 0xFF the way libjpeg
    /// does (it only warns), so files libjpeg decodes are not refused here.
    static func readJPEG(_ reader: ByteReader) throws(ServiceError) -> ImageHeader {
        guard reader.matches(FormatSniffer.jpegSignature) else { throw reader.corrupt("missing SOI marker") }
        var offset = 2
        while true {
            let marker = try nextMarker(reader, from: &offset)
            switch marker {
            case 0x01, 0xD0...0xD7:
                continue  // standalone markers carry no length
            case 0xD8, 0xD9, 0xDA:
                throw reader.corrupt("no frame header before \(marker == 0xDA ? "scan" : "image boundary")")
            default:
                break
            }
            let length = Int(try reader.u16(offset, .big))
            guard length >= 2 else { throw reader.corrupt("segment length \(length) is too short") }
            if isStartOfFrame(marker) {
                guard length >= 8 else { throw reader.corrupt("frame header too short") }
                // Layout: length(2) precision(1) height(2) width(2).
                let height = Int(try reader.u16(offset + 3, .big))
                let width = Int(try reader.u16(offset + 5, .big))
                return try ImageHeader(format: .jpg, width: width, height: height)
            }
            offset = try reader.add(offset, length)
        }
    }

    /// The marker code after `offset`, which is left just past it.
    ///
    /// Skips any garbage before the 0xFF, the fill bytes (repeated 0xFF) the format allows,
    /// and stuffed `FF 00` pairs, which are data rather than markers.
    private static func nextMarker(_ reader: ByteReader, from offset: inout Int) throws(ServiceError) -> UInt8 {
        while true {
            while try reader.u8(offset) != 0xFF { offset += 1 }
            while try reader.u8(offset) == 0xFF { offset += 1 }
            let code = try reader.u8(offset)
            offset += 1
            if code != 0x00 { return code }
        }
    }

    /// SOF0–SOF15 less DHT (C4), JPG (C8) and DAC (CC), which share the range.
    private static func isStartOfFrame(_ marker: UInt8) -> Bool {
        (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
    }
}
