/// A bounds-checked view over untrusted bytes with offsets relative to its start.
///
/// Every read answers nil instead of trapping, so the container parsers stay free of
/// index arithmetic on hostile input: they ask, and give up on the first nil.
struct ExifBytes {
    private let storage: ArraySlice<UInt8>

    init(_ storage: ArraySlice<UInt8>) {
        self.storage = storage
    }

    var count: Int { storage.count }

    /// The viewed bytes themselves.
    var bytes: ArraySlice<UInt8> { storage }

    /// Written so that nothing can overflow: `count - length` is safe once both are non-negative.
    func contains(offset: Int, length: Int) -> Bool {
        offset >= 0 && length >= 0 && offset <= count - length
    }

    func byte(at offset: Int) -> UInt8? {
        guard contains(offset: offset, length: 1) else { return nil }
        return storage[storage.startIndex + offset]
    }

    func uint16(at offset: Int, bigEndian: Bool) -> UInt16? {
        unsigned(at: offset, width: 2, bigEndian: bigEndian).map { UInt16(truncatingIfNeeded: $0) }
    }

    func uint32(at offset: Int, bigEndian: Bool) -> UInt32? {
        unsigned(at: offset, width: 4, bigEndian: bigEndian).map { UInt32(truncatingIfNeeded: $0) }
    }

    func uint64(at offset: Int, bigEndian: Bool) -> UInt64? {
        unsigned(at: offset, width: 8, bigEndian: bigEndian)
    }

    func subrange(from offset: Int, length: Int) -> ExifBytes? {
        guard contains(offset: offset, length: length) else { return nil }
        let start = storage.startIndex + offset
        return ExifBytes(storage[start..<start + length])
    }

    func suffix(from offset: Int) -> ExifBytes? {
        guard offset >= 0, offset <= count else { return nil }
        return ExifBytes(storage[(storage.startIndex + offset)...])
    }

    func hasBytes(_ expected: [UInt8], at offset: Int = 0) -> Bool {
        guard contains(offset: offset, length: expected.count) else { return false }
        let start = storage.startIndex + offset
        return storage[start..<start + expected.count].elementsEqual(expected)
    }

    private func unsigned(at offset: Int, width: Int, bigEndian: Bool) -> UInt64? {
        guard contains(offset: offset, length: width) else { return nil }
        let start = storage.startIndex + offset
        var value: UInt64 = 0
        for index in 0..<width {
            let position = bigEndian ? index : width - 1 - index
            value = value << 8 | UInt64(storage[start + position])
        }
        return value
    }
}
