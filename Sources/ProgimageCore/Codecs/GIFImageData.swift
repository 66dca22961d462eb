/// How many pixels a GIF frame's LZW data decodes to, counted without decoding: each code
/// stands for a string whose length is all that is kept (the previous code's plus one).
/// libgd fills what the data does not reach with colour 0, silently, so a GIF whose
/// compressed data stops early (a file cut inside a frame, then given back its block
/// terminators) was stored as whole, its missing pixels black.
enum GIFImageData {
    enum Count: Equatable {
        /// Pixels decoded before the data (or its end code) stopped, at most `needed`.
        case pixels(Int)
        /// A code no table holds yet: the data is damaged (Pillow and libgd 2.4 refuse it;
        /// 2.3.3 decodes on regardless).
        case invalidCode
        /// A minimum code size outside 2–11: libgd's decode decides.
        case unjudged
    }

    static func pixelCount<Bytes: RandomAccessCollection<UInt8>>(
        minimumCodeSize: Int, subBlocks bytes: Bytes, from start: Int, upTo needed: Int
    ) -> Count where Bytes.Index == Int {
        guard (2...11).contains(minimumCodeSize) else { return .unjudged }
        let clear = 1 << minimumCodeSize, end = clear + 1
        var lengths = [Int](repeating: 1, count: 4096)
        var next = end + 1, width = minimumCodeSize + 1
        var previous: Int? = nil
        var count = 0
        var bits = 0, held = 0
        var at = start, blockLeft = 0
        while count < needed {
            // Refill from the sub-blocks until a whole code is held.
            while held < width {
                if blockLeft == 0 {
                    guard at < bytes.endIndex, bytes[at] != 0 else { return .pixels(count) }
                    blockLeft = Int(bytes[at])
                    at += 1
                }
                guard at < bytes.endIndex else { return .pixels(count) }
                bits |= Int(bytes[at]) << held
                held += 8
                at += 1
                blockLeft -= 1
            }
            let code = bits & ((1 << width) - 1)
            bits >>= width
            held -= width
            if code == clear {
                (next, width, previous) = (end + 1, minimumCodeSize + 1, nil)
                continue
            }
            if code == end { return .pixels(count) }
            let length: Int
            if code < next {
                length = lengths[code]
            } else if code == next, let previous {
                length = lengths[previous] + 1  // the string being defined: previous + its first pixel
            } else {
                return .invalidCode
            }
            count += length
            if let previous, next < 4096 {
                lengths[next] = lengths[previous] + 1
                next += 1
                if next == 1 << width, width < 12 { width += 1 }
            }
            previous = code
        }
        return .pixels(count)
    }
}
