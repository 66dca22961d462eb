/// Builds multipart bodies the way browsers and curl frame them.
enum MultipartFixture {
    struct Part {
        var headers: [String]
        var body: [UInt8]
    }

    static func body(boundary: String, parts: [Part], preamble: [UInt8] = [], epilogue: [UInt8] = []) -> [UInt8] {
        var out = preamble
        if !preamble.isEmpty { out += crlf }
        for part in parts {
            out += Array("--\(boundary)".utf8) + crlf
            for header in part.headers { out += Array(header.utf8) + crlf }
            out += crlf + part.body + crlf
        }
        out += Array("--\(boundary)--".utf8) + epilogue
        return out
    }

    static func filePart(name: String = "file", filename: String, type: String = "image/jpeg", body: [UInt8]) -> Part {
        Part(
            headers: [
                "Content-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"", "Content-Type: \(type)",
            ],
            body: body)
    }

    static func fieldPart(name: String, value: String) -> Part {
        Part(headers: ["Content-Disposition: form-data; name=\"\(name)\""], body: Array(value.utf8))
    }

    static let crlf: [UInt8] = [0x0D, 0x0A]

    /// Deterministic noise: SplitMix64 written eight bytes at a time, cheap even in debug builds.
    static func noise(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var index = 0
            while index < count {
                state &+= 0x9E37_79B9_7F4A_7C15
                var mixed = state
                mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
                mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
                mixed ^= mixed >> 31
                for shift in 0..<min(8, count - index) {
                    buffer[index + shift] = UInt8(truncatingIfNeeded: mixed >> UInt64(8 * shift))
                }
                index += 8
            }
            initialized = count
        }
    }
}
