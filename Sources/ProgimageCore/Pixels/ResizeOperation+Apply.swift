public import ProgimageAPI
package import GD

extension ResizeOperation: PixelStep {
    package func apply(to image: consuming GDImage, planned: ImageSize, context: PixelContext) throws(ServiceError) -> GDImage {
        // What a fill scales to before it keeps its window.
        let cover = mode == .fill ? coverSize(for: context.logicalInput, planned: planned) : planned
        do {
            switch mode {
            case .fit, .force:
                return try image.scaled(width: planned.width, height: planned.height, extent: context.inputExtent)
            case .pad:
                // Fit inside the box, then centre on a canvas of exactly the box.
                let (fitted, border) = padding(for: context.logicalInput, planned: planned)
                let scaled = try image.scaled(width: fitted.width, height: fitted.height, extent: context.inputExtent)
                return try scaled.placedOnCanvas(
                    width: planned.width, height: planned.height, x: border.left, y: border.top,
                    fill: padColour?.packed ?? context.background)
            case .fill:
                // Cover the box, then keep the window the gravity names.
                let (coverWidth, coverHeight) = (cover.width, cover.height)
                let (spareX, spareY) = (coverWidth - planned.width, coverHeight - planned.height)
                // A smart window past the largest cover made whole: chosen on the image,
                // which stands in for the cover, before anything is scaled.
                let standInWindow =
                    gravity == .smart && !Self.smartCoverIsMadeWhole(cover)
                    ? context.smartWindow {
                        AttentionWindow.origin(in: image, width: planned.width, height: planned.height, cover: cover)
                    } : nil
                let enlarges = context.inputExtent == nil && coverWidth >= image.width && coverHeight >= image.height
                if enlarges, gravity != .smart || standInWindow != nil {
                    // An enlargement: only the window is made (a thin image's cover can be
                    // billions of pixels). The same pixels as covering, then cropping.
                    let origin = standInWindow ?? CompassAnchor.origin(gravity?.rawValue ?? "c", spareX: spareX, spareY: spareY)
                    return try image.scaledWindow(
                        width: coverWidth, height: coverHeight,
                        window: (origin.x, origin.y, planned.width, planned.height))
                }
                let covered = try image.scaled(width: coverWidth, height: coverHeight, extent: context.inputExtent)
                let origin =
                    gravity == .smart
                    ? standInWindow
                        ?? context.smartWindow { AttentionWindow.origin(in: covered, width: planned.width, height: planned.height) }
                    : CompassAnchor.origin(gravity?.rawValue ?? "c", spareX: spareX, spareY: spareY)
                return try covered.cropped(x: origin.x, y: origin.y, width: planned.width, height: planned.height)
            }
        } catch {
            throw error.serviceError
        }
    }

    /// What `pad` makes of an image of `input`: the size it fits it to inside its box
    /// (`planned`), and the borders that centre it there, in its colour.
    func padding(for input: ImageSize, planned: ImageSize) -> (fitted: ImageSize, border: PadOperation) {
        let scale = fitScale(for: input)
        let fitted = ImageSize(
            width: min(planned.width, Self.scaled(input.width, scale)), height: min(planned.height, Self.scaled(input.height, scale)))
        let (left, top) = ((planned.width - fitted.width) / 2, (planned.height - fitted.height) / 2)
        let border = PadOperation(
            top: top, right: planned.width - fitted.width - left, bottom: planned.height - fitted.height - top, left: left,
            colour: padColour)
        return (fitted, border)
    }

    /// Whether a smart fill chooses its window on the whole cover, made first, as libvips
    /// does. A thin image enlarged makes an enormous one (20000×1 to fill 100×100 covers
    /// 2000000×100): past `largestSmartCover` the window is chosen on the image itself, which
    /// stands in for its enlargement (`AttentionWindow.origin(in:…cover:)`), and only the
    /// window is made, as compass gravities make theirs. Such fills were `422` before.
    static func smartCoverIsMadeWhole(_ cover: ImageSize) -> Bool {
        cover.width <= largestSmartCover / max(1, cover.height)
    }

    /// The size `fill` covers the box with before keeping its window.
    func coverSize(for input: ImageSize, planned: ImageSize) -> ImageSize {
        let scale = fitScale(for: input)
        return ImageSize(
            width: max(planned.width, Self.scaled(input.width, scale)), height: max(planned.height, Self.scaled(input.height, scale)))
    }

    /// The most pixels a smart fill's cover is made whole with: 16 M (4096², 64 MB as
    /// libgd's pixels), more than any usual box's cover. It was 128 M: a 12500×1 PNG filled
    /// to 101×100 (a cover of 125 M) took 41 s and 4.4 GB of the worker (a black-box tester),
    /// where the window chosen on the image itself takes a few milliseconds.
    static let largestSmartCover = 1 << 24
}
