package import GD

#if canImport(Glibc)
import Glibc
#endif

/// Where `resize:…,fill,smart` crops: libvips's `attention` strategy, which the contract
/// names as the reference, step for step as libvips 8.18 takes it (`smartcrop.c`): the
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

    static func origin(in image: borrowing GDImage, width: Int, height: Int) -> (x: Int, y: Int) {
        let (imageWidth, imageHeight) = (image.width, image.height)
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

    /// The cover's R, G, B shrunk to 32×32 as `vips_resize` does to an 8-bit image (rows,
    /// then columns; each rounded to 8 bits).
    struct Grid {
        /// R, G, B a point, row by row.
        var rgb: [Double]

        init(_ image: borrowing GDImage) {
            let (width, height) = (image.width, image.height)
            let side = AttentionWindow.gridSide
            // Columns first (libvips reduces vertically, then horizontally).
            var columns = [Double](repeating: 0, count: width * side * 3)
            var rows = [[UInt8]]()
            rows.reserveCapacity(height)
            for y in 0..<height { rows.append(image.interleavedRow(y, alpha: false)) }
            var line = [Double](repeating: 0, count: height)
            for x in 0..<width {
                for channel in 0..<3 {
                    for y in 0..<height { line[y] = Double(rows[y][x * 3 + channel]) }
                    let resized = AttentionWindow.resized(line, to: side)
                    for y in 0..<side { columns[(y * width + x) * 3 + channel] = resized[y] }
                }
            }
            rgb = [Double](repeating: 0, count: side * side * 3)
            var row = [Double](repeating: 0, count: width)
            for y in 0..<side {
                for channel in 0..<3 {
                    for x in 0..<width { row[x] = columns[(y * width + x) * 3 + channel] }
                    let resized = AttentionWindow.resized(row, to: side)
                    for x in 0..<side { rgb[(y * side + x) * 3 + channel] = resized[x] }
                }
            }
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

    /// One line of `count` samples resized to `target`, as libvips's `reduce` with its
    /// default gap of 2: first a box average by the whole factor that leaves at least
    /// twice the target, then Lanczos-3 for the rest, each rounded to 8 bits; enlarged by
    /// linear interpolation (a cover narrower than 32 px).
    static func resized(_ line: [Double], to target: Int) -> [Double] {
        var samples = line
        let count = samples.count
        guard count != target else { return samples }
        if count < target {
            return (0..<target).map { i in
                let position = min(Double(count - 1), max(0, (Double(i) + 0.5) * Double(count) / Double(target) - 0.5))
                let left = Int(position), right = min(count - 1, left + 1), fraction = position - Double(left)
                return samples[left] + (samples[right] - samples[left]) * fraction
            }
        }
        let factor = Double(count) / Double(target)
        let whole = max(1, Int(factor / 2))
        if whole > 1 {
            samples = stride(from: 0, to: count, by: whole).map { start in
                let end = min(count, start + whole)
                return (samples[start..<end].reduce(0, +) / Double(end - start)).rounded()
            }
        }
        let residual = factor / Double(whole)
        guard residual != 1 else { return samples }
        let last = samples.count - 1
        return (0..<target).map { i in
            let centre = (Double(i) + 0.5) * residual - 0.5
            var sum = 0.0, weights = 0.0
            for j in Int((centre - 3 * residual).rounded(.up))...Int((centre + 3 * residual).rounded(.down)) {
                let weight = lanczos3((Double(j) - centre) / residual)
                sum += weight * samples[min(last, max(0, j))]
                weights += weight
            }
            return min(255, max(0, (sum / weights).rounded()))
        }
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
