import ProgimageAPI

/// The picture size an HEVC stream declares: `pic_width_in_luma_samples` and
/// `pic_height_in_luma_samples` of the sequence parameter set (H.265 7.3.2.2) that an
/// `hvcC` box carries, and that size less its conformance window.
enum HEVCParameterSets {
    static func pictureSize(_ reader: ByteReader, _ hvcC: BMFFBox) throws(ServiceError) -> (full: ImageSize, shown: ImageSize) {
        // 22 bytes of configuration, then arrays of NAL units by type.
        try hvcC.require(hvcC.payload, 23)
        var at = hvcC.payload + 23
        for _ in 0..<(try reader.u8(hvcC.payload + 22)) {
            try hvcC.require(at, 3)
            let type = try reader.u8(at) & 0x3F
            let count = Int(try reader.u16(at + 1, .big))
            at += 3
            for _ in 0..<count {
                try hvcC.require(at, 2)
                let length = Int(try reader.u16(at, .big))
                try hvcC.require(at + 2, length)
                if type == 33 { return try sequenceParameterSetSize(Array(reader.bytes.dropFirst(at + 2).prefix(length))) }
                at += 2 + length
            }
        }
        throw reader.corrupt("an hvcC without a sequence parameter set")
    }

    private static func sequenceParameterSetSize(_ nal: [UInt8]) throws(ServiceError) -> (full: ImageSize, shown: ImageSize) {
        // Without the emulation prevention bytes (00 00 03 → 00 00).
        var payload: [UInt8] = []
        var zeros = 0
        for byte in nal.dropFirst(2) {
            if zeros >= 2, byte == 3 {
                zeros = 0
                continue
            }
            zeros = byte == 0 ? zeros + 1 : 0
            payload.append(byte)
        }
        let reader = ByteReader(payload, label: "heif")
        var bits = BitReader(reader, from: 0, to: payload.count, label: "HEVC sequence parameter set")
        _ = try bits.read(4)  // sps_video_parameter_set_id
        let subLayers = try bits.read(3)  // sps_max_sub_layers_minus1
        _ = try bits.read(1)  // sps_temporal_id_nesting_flag
        // profile_tier_level(1, subLayers): 88 bits of general profile, 8 of level.
        for _ in 0..<3 { _ = try bits.read(32) }
        var profilePresent: [Bool] = [], levelPresent: [Bool] = []
        for _ in 0..<subLayers {
            profilePresent.append(try bits.read(1) == 1)
            levelPresent.append(try bits.read(1) == 1)
        }
        if subLayers > 0 { _ = try bits.read(2 * (8 - subLayers)) }
        for layer in 0..<subLayers {
            if profilePresent[layer] { for _ in 0..<11 { _ = try bits.read(8) } }
            if levelPresent[layer] { _ = try bits.read(8) }
        }
        _ = try bits.exponentialGolomb()  // sps_seq_parameter_set_id
        let chroma = try bits.exponentialGolomb()
        if chroma == 3 { _ = try bits.read(1) }  // separate_colour_plane_flag
        let width = try bits.exponentialGolomb()
        let height = try bits.exponentialGolomb()
        let full = ImageSize(width: width, height: height)
        guard try bits.read(1) == 1 else { return (full, full) }  // conformance_window_flag
        let unitX = chroma == 1 || chroma == 2 ? 2 : 1
        let unitY = chroma == 1 ? 2 : 1
        let left = try bits.exponentialGolomb(), right = try bits.exponentialGolomb()
        let top = try bits.exponentialGolomb(), bottom = try bits.exponentialGolomb()
        let shown = ImageSize(width: max(0, width - unitX * (left + right)), height: max(0, height - unitY * (top + bottom)))
        return (full, shown)
    }
}
