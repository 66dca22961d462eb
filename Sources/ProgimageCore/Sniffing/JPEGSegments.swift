import ProgimageAPI

/// JPEG's marker segments from SOI up to the first scan, walked once for the header's
/// frame size and for EXIF's APP1.
///
/// EXIF and ICC segments routinely hold tens of kilobytes before the frame header, so the
/// walk skips segments by their length rather than scanning a fixed prefix.
struct JPEGSegments {
    /// A segment with a length field; `payload` is what follows that field.
    struct Segment {
        let marker: UInt8
        let payload: ByteReader
    }

    /// Why the walk stopped before the caller found what it wanted.
    enum End: Equatable {
        /// SOS: the entropy-coded data begins (nothing past it is read).
        case scan
        /// EOI or a second SOI.
        case imageBoundary
    }

    let reader: ByteReader
    /// Header reading skips stray bytes between segments up to the next 0xFF the way
    /// libjpeg does (it only warns), and stuffed `FF 00` pairs, so files libjpeg decodes
    /// are not refused; EXIF reading stops at the first byte that is not a marker.
    let skippingStrayBytes: Bool

    /// Calls `visit` with each segment until it answers true (found); returns how the walk
    /// ended otherwise. Throws on a truncated or malformed segment list.
    func walk(_ visit: (Segment) throws(ServiceError) -> Bool) throws(ServiceError) -> End {
        guard reader.matches([0xFF, 0xD8]) else { throw reader.corrupt("missing SOI marker") }
        var offset = 2
        while true {
            let marker = try nextMarker(from: &offset)
            switch marker {
            case 0x01, 0xD0...0xD7: continue  // standalone markers carry no length
            case 0xDA: return .scan
            case 0xD8, 0xD9: return .imageBoundary
            default: break
            }
            let length = Int(try reader.u16(offset, .big))
            guard length >= 2 else { throw reader.corrupt("segment length \(length) is too short") }
            // The header reads a frame header's first bytes even when the file ends inside
            // it (the decode refuses such a file later, with its own message); EXIF wants
            // its segment whole.
            guard let payload = reader.subrange(offset + 2, length - 2)
                ?? (skippingStrayBytes ? reader.suffix(from: offset + 2) : nil)
            else { throw reader.corrupt("truncated segment") }
            if try visit(Segment(marker: marker, payload: payload)) { return .scan }
            offset = try reader.add(offset, length)
        }
    }

    /// The marker code after `offset`, which is left just past it. Any number of 0xFF fill
    /// bytes may precede a marker.
    private func nextMarker(from offset: inout Int) throws(ServiceError) -> UInt8 {
        while true {
            if skippingStrayBytes {
                while try reader.u8(offset) != 0xFF { offset += 1 }
            } else if try reader.u8(offset) != 0xFF {
                throw reader.corrupt("no marker where a segment should start")
            }
            while try reader.u8(offset) == 0xFF { offset += 1 }
            let code = try reader.u8(offset)
            offset += 1
            if code != 0x00 { return code }
            // A stuffed `FF 00` is data, not a marker.
            guard skippingStrayBytes else { throw reader.corrupt("stuffed byte where a marker should be") }
        }
    }
}
