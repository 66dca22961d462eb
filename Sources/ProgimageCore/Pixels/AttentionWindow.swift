package import GD

/// Where `resize:…,fill,smart` crops: the window with the most visual interest, after
/// libvips's `attention` strategy — edges (the luminance Laplacian), saturation and skin
/// tones, summed over the window, on a sample grid of at most 256 points a side (a
/// summed-area table makes every candidate window one lookup).
enum AttentionWindow {
    static func origin(in image: borrowing GDImage, width: Int, height: Int) -> (x: Int, y: Int) {
        let (imageWidth, imageHeight) = (image.width, image.height)
        guard width < imageWidth || height < imageHeight else { return (0, 0) }
        let step = max(1, (max(imageWidth, imageHeight) + 255) / 256)
        let gridWidth = (imageWidth + step - 1) / step, gridHeight = (imageHeight + step - 1) / step
        var luma = [Double](repeating: 0, count: gridWidth * gridHeight)
        var colourful = [Double](repeating: 0, count: gridWidth * gridHeight)
        for gy in 0..<gridHeight {
            for gx in 0..<gridWidth {
                let packed = image.pixel(x: min(imageWidth - 1, gx * step), y: min(imageHeight - 1, gy * step))
                let opacity = Double(127 - Int((packed >> 24) & 0x7F)) / 127
                let r = Double((packed >> 16) & 0xFF), g = Double((packed >> 8) & 0xFF), b = Double(packed & 0xFF)
                let index = gy * gridWidth + gx
                luma[index] = (0.299 * r + 0.587 * g + 0.114 * b) * opacity
                let saturation = (max(r, g, b) - min(r, g, b)) / 255
                // A broad skin-tone test (RGB rules of Kovac et al.): faces are what a crop
                // most often must keep.
                let skin = r > 95 && g > 40 && b > 20 && r > g && r > b && r - min(g, b) > 15 && abs(r - g) > 15 ? 1.0 : 0
                colourful[index] = (0.5 * saturation + skin) * opacity
            }
        }
        // Interest per grid point; the summed-area table has a zero row and column in front.
        var table = [Double](repeating: 0, count: (gridWidth + 1) * (gridHeight + 1))
        for gy in 0..<gridHeight {
            var rowSum = 0.0
            for gx in 0..<gridWidth {
                let index = gy * gridWidth + gx
                let left = luma[gy * gridWidth + max(0, gx - 1)], right = luma[gy * gridWidth + min(gridWidth - 1, gx + 1)]
                let up = luma[max(0, gy - 1) * gridWidth + gx], down = luma[min(gridHeight - 1, gy + 1) * gridWidth + gx]
                let edge = abs(4 * luma[index] - left - right - up - down) / 255
                rowSum += edge + colourful[index]
                table[(gy + 1) * (gridWidth + 1) + gx + 1] = table[gy * (gridWidth + 1) + gx + 1] + rowSum
            }
        }
        let windowWidth = max(1, min(gridWidth, width / step)), windowHeight = max(1, min(gridHeight, height / step))
        var best = (score: -1.0, x: 0, y: 0)
        for y in 0...(gridHeight - windowHeight) {
            for x in 0...(gridWidth - windowWidth) {
                let (x1, y1) = (x + windowWidth, y + windowHeight)
                let score = table[y1 * (gridWidth + 1) + x1] - table[y * (gridWidth + 1) + x1]
                    - table[y1 * (gridWidth + 1) + x] + table[y * (gridWidth + 1) + x]
                if score > best.score { best = (score, x, y) }
            }
        }
        return (min(imageWidth - width, best.x * step), min(imageHeight - height, best.y * step))
    }
}
