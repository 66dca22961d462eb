import Deflate
import Dispatch
import Synchronization

/// A baseline TIFF writer for 8-bit interleaved pixels: deflate (libdeflate) with the
/// horizontal predictor, strips compressed on two threads.
///
/// libgd's TIFF writer always wrote four samples (an alpha plane of 255s for every opaque
/// image), no predictor, and premultiplied translucent colours (losing precision) to match
/// the associated-alpha tag it sets: a 12 MP photo came out at 17 MB in 0.59 s where
/// libvips's deflate writes 9 MB. Here an opaque image has three samples (one when grey),
/// alpha is written as it is, tagged unassociated, and every byte is predicted.
public enum TIFFWriter {
    public enum Failure: Error, Sendable {
        case badSize
        case outOfMemory
    }

    /// `channels`: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA; rows packed.
    public static func encode(_ pixels: [UInt8], width: Int, height: Int, channels: Int) throws(Failure) -> [UInt8] {
        let rowBytes = width * channels
        guard (1...4).contains(channels), width > 0, height > 0, width < 1 << 31, height < 1 << 31,
            pixels.count == rowBytes * height
        else { throw .badSize }
        // Strips of about 256 KB of samples: small enough to spread over threads and for
        // readers that load a strip at a time, large enough for deflate's window to pay.
        let rowsPerStrip = max(1, min(height, (256 << 10) / max(1, rowBytes)))
        let stripCount = (height + rowsPerStrip - 1) / rowsPerStrip
        let predicted = horizontallyPredicted(pixels, rowBytes: rowBytes, channels: channels)
        let strips = try compressedStrips(predicted, rowBytes: rowBytes, rowsPerStrip: rowsPerStrip, count: stripCount)

        // Layout: header, strips, then the directory and the arrays it points to.
        var file: [UInt8] = [0x49, 0x49, 42, 0]  // little-endian "II*\0"
        file.appendLittleEndian(UInt32(0))  // directory offset, patched below
        var offsets: [UInt32] = []
        for strip in strips {
            guard file.count + strip.count < 1 << 32 else { throw .badSize }
            offsets.append(UInt32(file.count))
            file += strip
            if file.count & 1 == 1 { file.append(0) }  // word-aligned, as TIFF asks
        }
        let alpha = channels == 2 || channels == 4
        var entries: [(tag: UInt16, type: UInt16, values: [UInt32])] = [
            (256, 4, [UInt32(width)]),
            (257, 4, [UInt32(height)]),
            (258, 3, [UInt32](repeating: 8, count: channels)),
            (259, 3, [8]),  // Adobe deflate
            (262, 3, [channels >= 3 ? 2 : 1]),  // RGB, or BlackIsZero
            (273, 4, offsets),
            (277, 3, [UInt32(channels)]),
            (278, 4, [UInt32(rowsPerStrip)]),
            (279, 4, strips.map { UInt32($0.count) }),
            // Baseline TIFF 6.0 requires a resolution: 72 pixels an inch, as libvips and
            // Pillow write when they know none (strict validators flagged its absence).
            (282, 5, [72, 1]),
            (283, 5, [72, 1]),
            (284, 3, [1]),  // interleaved
            (296, 3, [2]),  // inches
            (317, 3, [2]),  // horizontal differencing
        ]
        if alpha { entries.append((338, 3, [2])) }  // unassociated alpha
        // Arrays that do not fit in an entry's four bytes go after the directory.
        let directoryOffset = file.count
        let directorySize = 2 + entries.count * 12 + 4
        var extra: [UInt8] = []
        var directory: [UInt8] = []
        directory.appendLittleEndian(UInt16(entries.count))
        for entry in entries {
            directory.appendLittleEndian(entry.tag)
            directory.appendLittleEndian(entry.type)
            // A RATIONAL (type 5) is two LONGs, numerator and denominator.
            directory.appendLittleEndian(UInt32(entry.type == 5 ? entry.values.count / 2 : entry.values.count))
            let size = entry.type == 3 ? 2 : 4
            var bytes: [UInt8] = []
            for value in entry.values {
                if size == 2 { bytes.appendLittleEndian(UInt16(value)) } else { bytes.appendLittleEndian(value) }
            }
            if bytes.count <= 4 {
                directory += bytes + [UInt8](repeating: 0, count: 4 - bytes.count)
            } else {
                directory.appendLittleEndian(UInt32(directoryOffset + directorySize + extra.count))
                extra += bytes
                if extra.count & 1 == 1 { extra.append(0) }
            }
        }
        directory.appendLittleEndian(UInt32(0))  // no next directory
        let offset = UInt32(directoryOffset)
        (file[4], file[5], file[6], file[7]) = (
            UInt8(offset & 0xFF), UInt8(offset >> 8 & 0xFF), UInt8(offset >> 16 & 0xFF), UInt8(offset >> 24)
        )
        return file + directory + extra
    }

    /// Each sample minus the same sample of the pixel before it on the row (TIFF
    /// Predictor 2, modulo 256).
    static func horizontallyPredicted(_ pixels: [UInt8], rowBytes: Int, channels: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: pixels.count) { output, count in
            pixels.withUnsafeBufferPointer { source in
                let rows = pixels.count / rowBytes
                for y in 0..<rows {
                    let row = source.baseAddress! + y * rowBytes
                    let out = output.baseAddress! + y * rowBytes
                    for i in 0..<min(channels, rowBytes) { out[i] = row[i] }
                    for i in channels..<max(channels, rowBytes) { out[i] = row[i] &- row[i - channels] }
                }
            }
            count = pixels.count
        }
    }

    private static func compressedStrips(
        _ predicted: [UInt8], rowBytes: Int, rowsPerStrip: Int, count: Int
    ) throws(Failure) -> [[UInt8]] {
        let results = StripResults(count: count)
        let parts = count >= 4 ? 2 : 1
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            for strip in stride(from: part, to: count, by: parts) {
                let start = strip * rowsPerStrip * rowBytes
                let end = min(predicted.count, start + rowsPerStrip * rowBytes)
                results.store(Deflate.zlibCompressed(predicted[start..<end], level: 6), at: strip)
            }
        }
        var strips: [[UInt8]] = []
        for strip in 0..<count {
            guard let compressed = results.value(at: strip) else { throw .outOfMemory }
            strips.append(compressed)
        }
        return strips
    }
}

/// The compressed strips the two threads fill, each its own indices.
private final class StripResults: Sendable {
    private let strips: Mutex<[[UInt8]?]>

    init(count: Int) { strips = Mutex(Array(repeating: nil, count: count)) }

    func store(_ strip: [UInt8]?, at index: Int) { strips.withLock { $0[index] = strip } }
    func value(at index: Int) -> [UInt8]? { strips.withLock { $0[index] } }
}

extension [UInt8] {
    mutating func appendLittleEndian(_ value: UInt16) {
        append(UInt8(value & 0xFF))
        append(UInt8(value >> 8))
    }

    mutating func appendLittleEndian(_ value: UInt32) {
        append(UInt8(value & 0xFF))
        append(UInt8(value >> 8 & 0xFF))
        append(UInt8(value >> 16 & 0xFF))
        append(UInt8(value >> 24))
    }
}
