import Deflate

/// Every chunk of a PNG up to `IEND`, whole and with the CRC it carries (API.md: a bad
/// checksum is `422 corrupt_image`). libpng checks the chunks it reads as critical; a bad
/// CRC in an ancillary one is a warning it drops, and an APNG's later frames (`fdAT`) are
/// ancillary to it: a byte flipped in the last frame was accepted (a black-box tester).
enum PNGChecksums {
    /// What is wrong, or nil when every chunk up to `IEND` is whole and its CRC right.
    static func problem(in bytes: [UInt8]) -> String? {
        let png = ByteReader(bytes, label: "png")
        var offset = FormatSniffer.pngSignature.count
        while true {
            guard let length = try? png.u32(offset, .big), let stored = try? png.u32(offset + 8 + Int(length), .big),
                let type = try? png.fourCC(offset + 4)
            else { return "the png is cut short before its IEND chunk" }
            guard Deflate.crc32(bytes, (offset + 4)..<(offset + 8 + Int(length))) == stored else {
                return "the png's \(type) chunk at byte \(offset) fails its CRC"
            }
            if type == "IEND" { return nil }
            offset += 12 + Int(length)
        }
    }
}
