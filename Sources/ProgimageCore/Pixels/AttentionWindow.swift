import GD
import ProgimageAPI

#if canImport(Glibc)
import Glibc
#endif

/// Where `resize:…,fill,smart` crops: libvips's `attention` strategy, which the contract
/// names as the reference, as libvips 8.18 computes it (`smartcrop.c`; where the resampling
/// differs, it is said at `Grid`): the
/// cover shrunk to a 32×32 grid; on each point the edges (Laplacian of luminance Y, ×5),
/// the nearness to a skin tone (100 at skin, less away from it) and the CIELAB a* (red
/// against green), the last two only where Y > 5; their sum blurred with a Gaussian as wide
/// as a tenth of the window's diagonal; the window centred on the blurred maximum.
///
/// It had been a look-alike (window sums of a Laplacian, a saturation and a skin-tone rule
/// on a 256-point grid), which a black-box tester found on the far side of a photo from
/// libvips's choice: 60 px off in a free span of 60 for `resize:120x120,fill,smart` of an
/// 1800×1200 landscape, 126 of 357 on `testorig.jpg` (`tests/integration/test_delivery.py`
/// compares with libvips on the corpus photos).
enum AttentionWindow {
    /// The grid's side: the precision with which libvips places the crop.
    static let gridSide = 32

    /// The window's origin in `image`, or, given `cover`, in the enlargement of `image` to
    /// that size, which `image` stands in for: the grid is the same 32×32 shrink of either
    /// but for resampling, and a thin image's cover can be billions of pixels.
    static func origin<Image: AttentionSource & ~Copyable>(
        in image: borrowing Image, width: Int, height: Int, cover: ImageSize? = nil
    ) -> (x: Int, y: Int) {
        let (imageWidth, imageHeight) = cover.map { ($0.width, $0.height) } ?? (image.width, image.height)
        guard width < imageWidth || height < imageHeight else { return (0, 0) }
        let grid = Grid(image)
        let interest = grid.interest()
        let hscale = Double(gridSide) / Double(imageWidth), vscale = Double(gridSide) / Double(imageHeight)
        let diagonal = ((Double(width) * hscale) * (Double(width) * hscale) + (Double(height) * vscale) * (Double(height) * vscale))
            .squareRoot()
        let blurred = gaussianBlurred(interest, sigma: max(diagonal / 10, 1))
        // The first largest value in row order, as `vips_max` reports it.
        var best = 0
        for index in blurred.indices where blurred[index] > blurred[best] { best = index }
        let attentionX = Int(Double(best % gridSide) / hscale), attentionY = Int(Double(best / gridSide) / vscale)
        return (
            max(0, min(imageWidth - width, attentionX - width / 2)), max(0, min(imageHeight - height, attentionY - height / 2))
        )
    }

    /// The cover's R, G, B shrunk to 32×32 as `vips_resize` does: rows first, then
    /// columns, each axis a box average by the whole factor that leaves at least twice the
    /// target (libvips's `gap` of 2; a last partial box padded with copies of its last
    /// sample, as `vips_shrinkv`/`vips_shrinkh` with `ceil` do), then Lanczos-3 for the
    /// rest; a side under 32 enlarged last, by Catmull-Rom cubic (libvips's `bicubic`).
    /// An image with alpha is premultiplied first, as `vips_smartcrop` does (what is under
    /// transparent pixels must not draw the crop), and then resampled in floats; an opaque
    /// one in 8 bits, each step rounded. Streamed down the rows: only the box-averaged rows
    /// (at most ~4 × 32 of them) are kept, not a copy of the cover (which had cost 0.85 s and
    /// 50 MB for a 4096² cover in this type's first form; a 128-MP cover is allowed).
    struct Grid {
        /// R, G, B a point, row by row.
        var rgb: [Double]

        init<Image: AttentionSource & ~Copyable>(_ image: borrowing Image) {
            let (width, height) = (image.width, image.height)
            let side = AttentionWindow.gridSide
            let premultiplied = !image.isOpaque
            let rounding: (Double) -> Double = premultiplied ? { $0 } : { min(255, max(0, $0.rounded())) }
            let rowBox = AttentionWindow.boxFactor(height, to: side)
            let boxedRows = Self.boxedRows(of: image, by: rowBox, premultiplied: premultiplied, rounding: rounding)
            let rows = height > side
                ? Self.reducedRows(boxedRows, residual: Double(height) / Double(side) / Double(rowBox), rounding: rounding)
                : boxedRows
            // Columns, row by row, with one set of weights.
            let columns = AttentionWindow.Reduction(width, to: side)
            let grid = rows.map { row in
                (0..<3).map { channel in columns.apply((0..<width).map { row[$0 * 3 + channel] }, rounding: rounding) }
            }
            rgb = Self.enlarged(grid, wasEnlarged: width < side || height < side, rounding: rounding)
        }

        /// The rows box-averaged by `box` as they are read (R, G, B interleaved), the last
        /// partial box padded with copies of its last row.
        static func boxedRows<Image: AttentionSource & ~Copyable>(
            of image: borrowing Image, by box: Int, premultiplied: Bool, rounding: (Double) -> Double
        ) -> [[Double]] {
            let (width, height) = (image.width, image.height)
            var boxedRows: [[Double]] = []
            boxedRows.reserveCapacity((height + box - 1) / box)
            var sum = [Double](repeating: 0, count: width * 3)
            var last = [Double](repeating: 0, count: width * 3)
            var inBox = 0
            for y in 0..<height {
                let row = image.attentionRow(y)
                for x in 0..<width {
                    let opacity = premultiplied ? Double(row[x * 4 + 3]) / 255 : 1
                    for channel in 0..<3 {
                        last[x * 3 + channel] = Double(row[x * 4 + channel]) * opacity
                        sum[x * 3 + channel] += last[x * 3 + channel]
                    }
                }
                inBox += 1
                guard inBox == box || y == height - 1 else { continue }
                let padding = Double(box - inBox)
                boxedRows.append((0..<(width * 3)).map { rounding((sum[$0] + padding * last[$0]) / Double(box)) })
                for index in sum.indices { sum[index] = 0 }
                inBox = 0
            }
            return boxedRows
        }

        /// The rest of the rows' reduction to the grid's side: Lanczos-3 sums of whole rows.
        static func reducedRows(_ boxedRows: [[Double]], residual: Double, rounding: (Double) -> Double) -> [[Double]] {
            let weights = AttentionWindow.lanczosWeights(from: boxedRows.count, residual: residual, to: AttentionWindow.gridSide)
            return weights.map { taps in
                var out = [Double](repeating: 0, count: boxedRows[0].count)
                for (source, weight) in taps {
                    for index in out.indices { out[index] += weight * boxedRows[source][index] }
                }
                return out.map(rounding)
            }
        }

        /// The grid (rows of R, G and B lines) with sides under 32 enlarged, columns then
        /// rows, rounded once at the end; flattened to R, G, B a point.
        static func enlarged(_ reduced: [[[Double]]], wasEnlarged: Bool, rounding: (Double) -> Double) -> [Double] {
            let side = AttentionWindow.gridSide
            var grid = reduced
            if grid.count < side {
                grid = (0..<side).map { y in
                    let taps = AttentionWindow.cubicTaps(at: y, from: grid.count, to: side)
                    return (0..<3).map { channel in
                        (0..<grid[0][channel].count).map { x in taps.reduce(0) { $0 + $1.1 * grid[$1.0][channel][x] } }
                    }
                }
            }
            var rgb = [Double](repeating: 0, count: side * side * 3)
            for y in 0..<side {
                for channel in 0..<3 {
                    let line = grid[y][channel]
                    let enlarged = line.count < side
                        ? (0..<side).map { x in
                            AttentionWindow.cubicTaps(at: x, from: line.count, to: side).reduce(0) { $0 + $1.1 * line[$1.0] }
                        }
                        : line
                    for x in 0..<side { rgb[(y * side + x) * 3 + channel] = wasEnlarged ? rounding(enlarged[x]) : enlarged[x] }
                }
            }
            return rgb
        }

        /// Edges, skin and a* summed on each point.
        func interest() -> [Double] {
            let side = AttentionWindow.gridSide
            var xyz = [Double](repeating: 0, count: side * side * 3)
            for point in 0..<(side * side) {
                let r = Self.linear(rgb[point * 3]), g = Self.linear(rgb[point * 3 + 1]), b = Self.linear(rgb[point * 3 + 2])
                xyz[point * 3] = 100 * (0.4124 * r + 0.3576 * g + 0.1805 * b)
                xyz[point * 3 + 1] = 100 * (0.2126 * r + 0.7152 * g + 0.0722 * b)
                xyz[point * 3 + 2] = 100 * (0.0193 * r + 0.1192 * g + 0.9505 * b)
            }
            func luminance(_ x: Int, _ y: Int) -> Double {
                xyz[(min(side - 1, max(0, y)) * side + min(side - 1, max(0, x))) * 3 + 1]
            }
            var interest = [Double](repeating: 0, count: side * side)
            for y in 0..<side {
                for x in 0..<side {
                    let point = y * side + x
                    let (cx, cy, cz) = (xyz[point * 3], xyz[point * 3 + 1], xyz[point * 3 + 2])
                    let laplacian = 4 * cy - luminance(x - 1, y) - luminance(x + 1, y) - luminance(x, y - 1) - luminance(x, y + 1)
                    var sum = abs(5 * laplacian)
                    guard cy > 5 else {
                        interest[point] = sum
                        continue
                    }
                    // Skin: the colour's direction in XYZ against smartcrop.js's skin vector.
                    let magnitude = (cx * cx + cy * cy + cz * cz).squareRoot()
                    let (dx, dy, dz) = (cx / magnitude - 0.78, cy / magnitude - 0.57, cz / magnitude - 0.44)
                    sum += 100 - 100 * (dx * dx + dy * dy + dz * dz).squareRoot()
                    // CIELAB a* (D65), libvips's "saturation" band.
                    sum += 500 * (Self.labCurve(cx / 95.047) - Self.labCurve(cy / 100))
                    interest[point] = sum
                }
            }
            return interest
        }

        /// The sRGB curve undone, from an 8-bit value.
        static func linear(_ value: Double) -> Double {
            let v = value / 255
            return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4)
        }

        static func labCurve(_ t: Double) -> Double {
            t < 0.008856 ? 7.787 * t + 16.0 / 116.0 : cbrt(t)
        }
    }

    /// The whole factor `vips_reduce` box-averages by before its kernel: the largest that
    /// leaves at least twice the target (its `gap` of 2); 1 when enlarging.
    static func boxFactor(_ count: Int, to target: Int) -> Int {
        count > target ? max(1, Int(Double(count) / Double(target) / 2)) : 1
    }

    /// A line of `count` samples reduced to `target` as `vips_reduceh` does (`boxFactor`,
    /// a last partial box padded with its last sample, then Lanczos-3), its weights made
    /// once for every line; a line no longer than `target` is left for the enlargement.
    struct Reduction {
        let count: Int
        let box: Int
        let weights: [[(Int, Double)]]?

        init(_ count: Int, to target: Int) {
            self.count = count
            box = AttentionWindow.boxFactor(count, to: target)
            let residual = Double(count) / Double(target) / Double(box)
            weights = count > target && residual != 1
                ? AttentionWindow.lanczosWeights(from: (count + box - 1) / box, residual: residual, to: target) : nil
        }

        func apply(_ line: [Double], rounding: (Double) -> Double) -> [Double] {
            var boxed = line
            if box > 1 {
                boxed = stride(from: 0, to: count, by: box).map { start in
                    let end = min(count, start + box)
                    let padding = Double(box - (end - start)) * line[end - 1]
                    return rounding((line[start..<end].reduce(0, +) + padding) / Double(box))
                }
            }
            guard let weights else { return boxed }
            return weights.map { taps in rounding(taps.reduce(0) { $0 + $1.1 * boxed[$1.0] }) }
        }
    }

    /// For each of `target` outputs, the normalized Lanczos-3 weights of the `count`
    /// inputs it reads (reduced by `residual`, centres aligned, edges copied outwards).
    static func lanczosWeights(from count: Int, residual: Double, to target: Int) -> [[(Int, Double)]] {
        (0..<target).map { i in
            let centre = (Double(i) + 0.5) * residual - 0.5
            var taps: [(Int, Double)] = []
            for j in Int((centre - 3 * residual).rounded(.up))...Int((centre + 3 * residual).rounded(.down)) {
                taps.append((min(count - 1, max(0, j)), lanczos3((Double(j) - centre) / residual)))
            }
            let total = taps.reduce(0) { $0 + $1.1 }
            return taps.map { ($0.0, $0.1 / total) }
        }
    }

    /// Catmull-Rom weights of output `i` of `target` enlarged from `count` (centres
    /// aligned, edges copied outwards).
    static func cubicTaps(at i: Int, from count: Int, to target: Int) -> [(Int, Double)] {
        let position = (Double(i) + 0.5) * Double(count) / Double(target) - 0.5
        let base = Int(position.rounded(.down))
        let t = position - Double(base)
        let weights = [
            ((-0.5 * t + 1) * t - 0.5) * t, (1.5 * t - 2.5) * t * t + 1, ((-1.5 * t + 2) * t + 0.5) * t, (0.5 * t - 0.5) * t * t,
        ]
        return (0..<4).map { (min(count - 1, max(0, base - 1 + $0)), weights[$0]) }
    }

    static func lanczos3(_ t: Double) -> Double {
        guard t != 0 else { return 1 }
        guard abs(t) < 3 else { return 0 }
        let x = Double.pi * t
        return 3 * sin(x) * sin(x / 3) / (x * x)
    }

    /// `vips_gaussblur` at its defaults: a separable mask of `rint(20 · e^(−x²/2σ²))`
    /// while that is at least a fifth of the peak, the grid's edges copied outwards.
    static func gaussianBlurred(_ values: [Double], sigma: Double) -> [Double] {
        let side = gridSide
        var reach = 0
        while Double(reach) < 8 * sigma, exp(-Double(reach * reach) / (2 * sigma * sigma)) >= 0.2 { reach += 1 }
        let radius = max(reach - 1, 0)
        let mask = (-radius...radius).map { (20 * exp(-Double($0 * $0) / (2 * sigma * sigma))).rounded(.toNearestOrEven) }
        let scale = max(1, mask.reduce(0, +))
        func pass(_ input: [Double], horizontal: Bool) -> [Double] {
            var output = input
            for y in 0..<side {
                for x in 0..<side {
                    var sum = 0.0
                    for (k, weight) in mask.enumerated() {
                        let offset = k - radius
                        let (sx, sy) = horizontal ? (min(side - 1, max(0, x + offset)), y) : (x, min(side - 1, max(0, y + offset)))
                        sum += weight * input[sy * side + sx]
                    }
                    output[y * side + x] = sum / scale
                }
            }
            return output
        }
        return pass(pass(values, horizontal: true), horizontal: false)
    }
}

/// What the attention grid reads of an image: its size, whether it is opaque, and its rows
/// as R, G, B, A bytes. libgd's images and 8-bit straight rows (an image with alpha).
protocol AttentionSource: ~Copyable {
    var width: Int { get }
    var height: Int { get }
    var isOpaque: Bool { get }
    func attentionRow(_ y: Int) -> [UInt8]
}

extension GDImage: AttentionSource {
    func attentionRow(_ y: Int) -> [UInt8] { interleavedRow(y, alpha: true) }
}

extension StraightRGBA: AttentionSource {
    var isOpaque: Bool { !isTranslucent }
    func attentionRow(_ y: Int) -> [UInt8] { row(y) }
}
