import ProgimageAPI

/// Bounds-checked random access to untrusted bytes.
///
/// Header readers follow offsets and lengths taken from the file itself, so every
/// read goes through here: an offset past the end (or one whose arithmetic would
/// overflow) becomes `corruptImage` instead of a trap.
struct ByteReader {
    enum Endian { case big, little }

    let bytes: [UInt8]
    /// Names the format in error messages ("truncated PNG header").
    let label: String

    init(_ bytes: [UInt8], label: String) {
        self.bytes = bytes
        self.label = label
    }

    var count: Int { bytes.count }

    func corrupt(_ what: String) -> ServiceError {
        ServiceError(.corruptImage, "\(label): \(what)")
    }

    /// Throws unless `length` bytes exist at `offset`.
    func require(_ offset: Int, _ length: Int) throws(ServiceError) {
        guard offset >= 0, length >= 0, offset <= bytes.count, length <= bytes.count - offset else {
            throw corrupt("truncated header")
        }
    }

    /// Whether `length` bytes exist at `offset`, for optional trailing structures.
    func has(_ offset: Int, _ length: Int) -> Bool {
        offset >= 0 && length >= 0 && offset <= bytes.count && length <= bytes.count - offset
    }

    /// Offset arithmetic on file-supplied values, which may be chosen to overflow.
    func add(_ a: Int, _ b: Int) throws(ServiceError) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw corrupt("offset overflow") }
        return sum
    }

    /// Whether `signature` appears at `offset`; false when the bytes run out first.
    func matches(_ signature: [UInt8], at offset: Int = 0) -> Bool {
        guard has(offset, signature.count) else { return false }
        for (index, byte) in signature.enumerated() where bytes[offset + index] != byte {
            return false
        }
        return true
    }

    func matches(_ ascii: String, at offset: Int = 0) -> Bool {
        matches(Array(ascii.utf8), at: offset)
    }

    func u8(_ offset: Int) throws(ServiceError) -> UInt8 {
        try require(offset, 1)
        return bytes[offset]
    }

    func u16(_ offset: Int, _ endian: Endian) throws(ServiceError) -> UInt16 {
        UInt16(truncatingIfNeeded: try unsigned(offset, 2, endian))
    }

    func u24(_ offset: Int, _ endian: Endian) throws(ServiceError) -> UInt32 {
        UInt32(truncatingIfNeeded: try unsigned(offset, 3, endian))
    }

    func u32(_ offset: Int, _ endian: Endian) throws(ServiceError) -> UInt32 {
        UInt32(truncatingIfNeeded: try unsigned(offset, 4, endian))
    }

    func u64(_ offset: Int, _ endian: Endian) throws(ServiceError) -> UInt64 {
        try unsigned(offset, 8, endian)
    }

    func i32(_ offset: Int, _ endian: Endian) throws(ServiceError) -> Int32 {
        Int32(bitPattern: try u32(offset, endian))
    }

    /// A four-character code (box or chunk type); bytes that are not text never equal a known code.
    func fourCC(_ offset: Int) throws(ServiceError) -> String {
        try require(offset, 4)
        return String(decoding: bytes[offset..<offset + 4], as: UTF8.self)
    }

    private func unsigned(_ offset: Int, _ width: Int, _ endian: Endian) throws(ServiceError) -> UInt64 {
        try require(offset, width)
        var value: UInt64 = 0
        for index in 0..<width {
            let byte = UInt64(bytes[endian == .big ? offset + index : offset + width - 1 - index])
            value = value << 8 | byte
        }
        return value
    }
}
