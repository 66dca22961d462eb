import Testing

@testable import PNG

/// The writer's row filters, sixteen bytes at a time, against libpng's heuristic written
/// out byte by byte: the same filtered bytes and the same choice on every row, for every
/// pixel size, widths around the vector width, and rows that favour each filter.
@Suite struct PNGWriterFilterTests {
    static func reference(_ pixels: [UInt8], rowBytes: Int, height: Int, bpp: Int) -> [UInt8] {
        var out: [UInt8] = []
        for y in 0..<height {
            let row = Array(pixels[(y * rowBytes)..<((y + 1) * rowBytes)])
            let above = y == 0 ? [UInt8](repeating: 0, count: rowBytes) : Array(pixels[((y - 1) * rowBytes)..<(y * rowBytes)])
            var candidates = [[UInt8]](repeating: [], count: 5)
            for i in 0..<rowBytes {
                let x = row[i], b = above[i]
                let a: UInt8 = i >= bpp ? row[i - bpp] : 0
                let c: UInt8 = i >= bpp ? above[i - bpp] : 0
                let p = Int(a) + Int(b) - Int(c)
                let (pa, pb, pc) = (abs(p - Int(a)), abs(p - Int(b)), abs(p - Int(c)))
                let predictor = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
                candidates[0].append(x)
                candidates[1].append(x &- a)
                candidates[2].append(x &- b)
                candidates[3].append(x &- UInt8((Int(a) + Int(b)) / 2))
                candidates[4].append(x &- predictor)
            }
            let sums = candidates.map { $0.reduce(0) { $0 + abs(Int(Int8(bitPattern: $1))) } }
            let best = sums.indices.min { sums[$0] < sums[$1] || (sums[$0] == sums[$1] && $0 < $1) }!
            out.append(UInt8(best))
            out += candidates[best]
        }
        return out
    }

    @Test(arguments: [1, 2, 3, 4], [1, 5, 6, 17, 33, 200, 1500])
    func filtersMatchTheByteByByteHeuristic(bpp: Int, width: Int) {
        var generator = SeededGenerator(seed: UInt64(bpp * 1000 + width))
        let height = 12
        let rowBytes = width * bpp
        var pixels = [UInt8](repeating: 0, count: rowBytes * height)
        for y in 0..<height {
            for i in 0..<rowBytes {
                // Noise, gradients across and down, flat runs and extremes: each filter wins
                // some row.
                let value: Int
                switch y % 6 {
                case 0: value = Int.random(in: 0...255, using: &generator)
                case 1: value = i * 3
                case 2: value = y * 20 + Int.random(in: 0...3, using: &generator)
                case 3: value = 128
                case 4: value = (i / bpp) % 2 == 0 ? 0 : 255
                default: value = i + y * 7 + Int.random(in: 0...9, using: &generator)
                }
                pixels[y * rowBytes + i] = UInt8(truncatingIfNeeded: value)
            }
        }
        let ours = PNGWriter.filteredRows(pixels, rowBytes: rowBytes, height: height, bpp: bpp)
        #expect(ours == Self.reference(pixels, rowBytes: rowBytes, height: height, bpp: bpp), "bpp \(bpp) width \(width)")
    }
}
