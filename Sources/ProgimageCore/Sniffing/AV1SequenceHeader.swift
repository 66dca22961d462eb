import ProgimageAPI

/// The picture size an AV1 stream declares: `max_frame_width_minus_1` and
/// `max_frame_height_minus_1` of its sequence header OBU (AV1 5.5), what a decoder
/// allocates frames for.
enum AV1SequenceHeader {
    /// The first sequence header among the OBUs in `from..<to`; nil when there is none
    /// before another kind of OBU that carries pictures.
    static func pictureSize(_ reader: ByteReader, from start: Int, to end: Int) throws(ServiceError) -> ImageSize? {
        var at = start
        while at < end {
            let header = try reader.u8(at)
            let type = header >> 3 & 0xF
            let hasExtension = header & 0x04 != 0
            let hasSize = header & 0x02 != 0
            at += hasExtension ? 2 : 1
            var size = end - at
            if hasSize {
                // leb128, at most 8 bytes.
                var value = 0
                for index in 0..<8 {
                    let byte = try reader.u8(at)
                    at += 1
                    value |= Int(byte & 0x7F) << (7 * index)
                    if byte & 0x80 == 0 { break }
                }
                size = value
            }
            guard size >= 0, size <= end - at else { throw reader.corrupt("an AV1 OBU past its data") }
            switch type {
            case 1: return try sequenceHeaderSize(reader, from: at, to: at + size)
            case 2, 15: at += size  // temporal delimiter, padding
            default: return nil
            }
        }
        return nil
    }

    private static func sequenceHeaderSize(_ reader: ByteReader, from start: Int, to end: Int) throws(ServiceError) -> ImageSize {
        var bits = BitReader(reader, from: start, to: end, label: "AV1 sequence header")
        _ = try bits.read(3)  // seq_profile
        _ = try bits.read(1)  // still_picture
        if try bits.read(1) == 1 {  // reduced_still_picture_header
            _ = try bits.read(5)  // seq_level_idx[0]
        } else {
            var bufferDelayLength = 0
            let timingInfo = try bits.read(1) == 1
            var decoderModelInfo = false
            if timingInfo {
                _ = try bits.read(32)  // num_units_in_display_tick
                _ = try bits.read(32)  // time_scale
                if try bits.read(1) == 1 { _ = try bits.uvlc() }  // equal_picture_interval, num_ticks_per_picture_minus_1
                decoderModelInfo = try bits.read(1) == 1
                if decoderModelInfo {
                    bufferDelayLength = try bits.read(5) + 1
                    _ = try bits.read(32)  // num_units_in_decoding_tick
                    _ = try bits.read(10)  // buffer_removal_time_length_minus_1, frame_presentation_time_length_minus_1
                }
            }
            let initialDisplayDelay = try bits.read(1) == 1
            for _ in 0...(try bits.read(5)) {  // operating_points_cnt_minus_1
                _ = try bits.read(12)  // operating_point_idc
                if try bits.read(5) > 7 { _ = try bits.read(1) }  // seq_level_idx, seq_tier
                if decoderModelInfo, try bits.read(1) == 1 {  // decoder_model_present_for_this_op
                    _ = try bits.read(2 * bufferDelayLength + 1)  // decoder and encoder buffer delay, low_delay_mode_flag
                }
                if initialDisplayDelay, try bits.read(1) == 1 { _ = try bits.read(4) }
            }
        }
        let widthBits = try bits.read(4) + 1
        let heightBits = try bits.read(4) + 1
        return ImageSize(width: try bits.read(widthBits) + 1, height: try bits.read(heightBits) + 1)
    }
}

/// Big-endian bits of untrusted bytes, bounds-checked: running out is `corruptImage`.
struct BitReader {
    private let reader: ByteReader
    private let end: Int
    private let label: String
    /// Bit position from the reader's start.
    private var position: Int

    init(_ reader: ByteReader, from start: Int, to end: Int, label: String) {
        self.reader = reader
        self.position = start * 8
        self.end = end
        self.label = label
    }

    /// `count` (0–32) bits as an unsigned number.
    mutating func read(_ count: Int) throws(ServiceError) -> Int {
        guard count <= 32 else { throw reader.corrupt("\(label): a \(count)-bit field") }
        var value = 0
        for _ in 0..<count {
            guard position / 8 < end else { throw reader.corrupt("\(label) too short") }
            value = value << 1 | Int(try reader.u8(position / 8) >> (7 - UInt8(position % 8)) & 1)
            position += 1
        }
        return value
    }

    /// AV1's uvlc(): leading zeros, then that many bits.
    mutating func uvlc() throws(ServiceError) -> Int {
        var zeros = 0
        while try read(1) == 0 {
            zeros += 1
            guard zeros < 32 else { throw reader.corrupt("\(label): a uvlc past 32 bits") }
        }
        return (1 << zeros) - 1 + (try read(zeros))
    }

    /// HEVC's ue(v), Exp-Golomb: the same code.
    mutating func exponentialGolomb() throws(ServiceError) -> Int { try uvlc() }
}
