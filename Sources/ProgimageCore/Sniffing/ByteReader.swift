import ProgimageAPI

/// Bounds-checked random access to untrusted bytes, the one reader every container walk
/// uses (headers, EXIF, chunk lists), with offsets relative to its own start.
///
/// Header readers follow offsets and lengths taken from the file itself, so every read
/// goes through here: an offset past the end (or one whose arithmetic would overflow)
/// becomes `corruptImage` from the throwing accessors, or nil from the optional ones,
/// which the lenient walks (EXIF: malformed means "no tag") use to give up quietly.
struct ByteReader {
    enum Endian { case big, little }

    /// The viewed bytes. Indices are the underlying collection's: read through the
    /// accessors, whose offsets start at 0.
    let bytes: ArraySlice<UInt8>
    /// Names the format in error messages ("truncated PNG header").
    let label: String

    init(_ bytes: [UInt8], label: String) {
        self.init(bytes[...], label: label)
    }

    init(_ bytes: ArraySlice<UInt8>, label: String) {
        self.bytes = bytes
        self.label = label
    }

    var count: Int { bytes.count }

    func corrupt(_ what: String) -> ServiceError {
        ServiceError(.corruptImage, "\(label): \(what)")
    }

    /// Throws unless `length` bytes exist at `offset`.
    func require(_ offset: Int, _ length: Int) throws(ServiceError) {
        guard has(offset, length) else { throw corrupt("truncated header") }
    }

    /// Whether `length` bytes exist at `offset`. Written so that nothing can overflow:
    /// `count - length` is safe once both are non-negative.
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
        let start = bytes.startIndex + offset
        return bytes[start..<start + signature.count].elementsEqual(signature)
    }

    func matches(_ ascii: String, at offset: Int = 0) -> Bool {
        matches(Array(ascii.utf8), at: offset)
    }

    /// The `length` bytes at `offset` as a reader of their own; nil past the end.
    func subrange(_ offset: Int, _ length: Int) -> ByteReader? {
        guard has(offset, length) else { return nil }
        let start = bytes.startIndex + offset
        return ByteReader(bytes[start..<start + length], label: label)
    }

    /// Everything from `offset` on; nil past the end.
    func suffix(from offset: Int) -> ByteReader? {
        guard offset >= 0, offset <= count else { return nil }
        return ByteReader(bytes[(bytes.startIndex + offset)...], label: label)
    }

    // MARK: Throwing reads (strict walks)

    func u8(_ offset: Int) throws(ServiceError) -> UInt8 {
        try require(offset, 1)
        return bytes[bytes.startIndex + offset]
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
        let start = bytes.startIndex + offset
        return String(decoding: bytes[start..<start + 4], as: UTF8.self)
    }

    private func unsigned(_ offset: Int, _ width: Int, _ endian: Endian) throws(ServiceError) -> UInt64 {
        try require(offset, width)
        let start = bytes.startIndex + offset
        var value: UInt64 = 0
        for index in 0..<width {
            value = value << 8 | UInt64(bytes[endian == .big ? start + index : start + width - 1 - index])
        }
        return value
    }
}
