#if canImport(Glibc)
import Glibc
#endif

/// BlurHash (blurha.sh, Wolt's reference algorithm): a short string a page decodes into a
/// blurred placeholder. Components are the image's 2-D cosine transform in linear light,
/// the DC term as sRGB, the AC terms quantised against their largest magnitude, all in
/// base 83.
public enum BlurHash {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~")

    /// The hash of a `width × height` image whose pixel (x, y) is `pixel(x, y)` as sRGB
    /// bytes. The cosine transform is taken over a grid of at most 64 × 64 cells, each the
    /// mean in linear light of the pixels sampled in it (at most about a million, evenly
    /// strided): the reference computes it over every pixel, and the few low frequencies
    /// are the same, while a 100 MP upload costs milliseconds. Averaging in linear light
    /// matters: a grid averaged as sRGB bytes darkens noise by ~20 levels.
    public static func encode(
        width: Int, height: Int, xComponents: Int = 4, yComponents: Int = 3, pixel: (Int, Int) -> (UInt8, UInt8, UInt8)
    ) -> String {
        precondition((1...9).contains(xComponents) && (1...9).contains(yComponents) && width > 0 && height > 0)
        var linear = [Double](repeating: 0, count: 256)
        for value in 0..<256 { linear[value] = srgbToLinear(value) }
        let (gridWidth, gridHeight) = (min(width, 64), min(height, 64))
        let stride = max(1, Int((Double(width * height) / 1_000_000).squareRoot().rounded(.up)))
        var sums = [Double](repeating: 0, count: gridWidth * gridHeight * 3)
        var counts = [Int](repeating: 0, count: gridWidth * gridHeight)
        for y in Swift.stride(from: 0, to: height, by: stride) {
            let row = y * gridHeight / height
            for x in Swift.stride(from: 0, to: width, by: stride) {
                let cell = row * gridWidth + x * gridWidth / width
                let (r, g, b) = pixel(x, y)
                sums[3 * cell] += linear[Int(r)]
                sums[3 * cell + 1] += linear[Int(g)]
                sums[3 * cell + 2] += linear[Int(b)]
                counts[cell] += 1
            }
        }
        // Cells the stride skipped (a grid finer than the samples) take their left or upper
        // neighbour's mean.
        for cell in 0..<counts.count where counts[cell] == 0 {
            let neighbour = cell % gridWidth > 0 ? cell - 1 : max(0, cell - gridWidth)
            for c in 0..<3 { sums[3 * cell + c] = counts[neighbour] > 0 ? sums[3 * neighbour + c] / Double(counts[neighbour]) : 0 }
            counts[cell] = 1
        }
        for cell in 0..<counts.count where counts[cell] > 1 {
            for c in 0..<3 { sums[3 * cell + c] /= Double(counts[cell]) }
        }

        var factors: [(Double, Double, Double)] = []
        for j in 0..<yComponents {
            for i in 0..<xComponents {
                var r = 0.0, g = 0.0, b = 0.0
                for gy in 0..<gridHeight {
                    // The cell's centre as a pixel index (the reference's `y` when a cell is
                    // one pixel).
                    let centreY = (Double(gy) + 0.5) * Double(height) / Double(gridHeight) - 0.5
                    let basisY = cos(Double.pi * Double(j) * centreY / Double(height))
                    for gx in 0..<gridWidth {
                        let centreX = (Double(gx) + 0.5) * Double(width) / Double(gridWidth) - 0.5
                        let basis = basisY * cos(Double.pi * Double(i) * centreX / Double(width))
                        let cell = 3 * (gy * gridWidth + gx)
                        r += basis * sums[cell]
                        g += basis * sums[cell + 1]
                        b += basis * sums[cell + 2]
                    }
                }
                let scale = (i == 0 && j == 0 ? 1.0 : 2.0) / Double(gridWidth * gridHeight)
                factors.append((r * scale, g * scale, b * scale))
            }
        }

        var hash = base83((xComponents - 1) + (yComponents - 1) * 9, length: 1)
        let ac = factors.dropFirst()
        let maximumValue: Double
        if let largest = ac.map({ max(abs($0.0), abs($0.1), abs($0.2)) }).max() {
            let quantised = max(0, min(82, Int((largest * 166 - 0.5).rounded(.down))))
            maximumValue = Double(quantised + 1) / 166
            hash += base83(quantised, length: 1)
        } else {
            maximumValue = 1
            hash += base83(0, length: 1)
        }
        let dc = factors[0]
        hash += base83((linearToSRGB(dc.0) << 16) + (linearToSRGB(dc.1) << 8) + linearToSRGB(dc.2), length: 4)
        for factor in ac {
            func quantise(_ value: Double) -> Int {
                max(0, min(18, Int((signedPow(value / maximumValue, 0.5) * 9 + 9.5).rounded(.down))))
            }
            hash += base83(quantise(factor.0) * 19 * 19 + quantise(factor.1) * 19 + quantise(factor.2), length: 2)
        }
        return hash
    }

    static func base83(_ value: Int, length: Int) -> String {
        var digits = ""
        for position in 1...length {
            var divisor = 1
            for _ in 0..<(length - position) { divisor *= 83 }
            digits.append(alphabet[(value / divisor) % 83])
        }
        return digits
    }

    static func srgbToLinear(_ value: Int) -> Double {
        let v = Double(value) / 255
        return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4)
    }

    static func linearToSRGB(_ value: Double) -> Int {
        let v = max(0, min(1, value))
        return v <= 0.0031308 ? Int(v * 12.92 * 255 + 0.5) : Int((1.055 * pow(v, 1 / 2.4) - 0.055) * 255 + 0.5)
    }

    static func signedPow(_ value: Double, _ exponent: Double) -> Double {
        value < 0 ? -pow(-value, exponent) : pow(value, exponent)
    }
}
