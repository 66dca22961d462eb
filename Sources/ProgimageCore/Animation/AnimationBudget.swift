import ProgimageDeployment
public import ProgimageAPI

/// The contract's limits on an animation: at most `maxFrames` frames, and frames × width
/// × height at most 10 × the pixel limit (a 500-frame GIF of 2 MP frames is a gigapixel
/// of work for every derived file). Checked at upload against the canvas, and again at
/// render against the canvas and the output, for originals stored under other limits and
/// for chains that enlarge.
public struct AnimationBudget: Sendable {
    /// `PROGIMAGE_MAX_FRAMES` when unset.
    public static let defaultMaxFrames = ServiceConfiguration.defaultMaxFrames

    public let maxFrames: Int
    public let maxPixels: Int

    public init(maxFrames: Int, maxPixels: Int) {
        self.maxFrames = maxFrames
        self.maxPixels = maxPixels
    }

    /// A GIF's frame rectangles, summed, held to the same 10 × the pixel limit: each is
    /// decoded whole, and a 16×16 canvas whose 500 frames claimed 10000×10000 each (an
    /// 11 KB file) took 57 s and 524 MB to render when only the canvas was counted.
    public func check(decodedArea: Int) throws(ServiceError) {
        let (limit, overflow) = maxPixels.multipliedReportingOverflow(by: 10)
        guard overflow || decodedArea <= limit else {
            throw ServiceError(
                .imageTooLarge, "the animation's frames hold \(decodedArea) pixels, over 10 × the \(maxPixels)-pixel limit")
        }
    }

    public func check(frames: Int, size: ImageSize) throws(ServiceError) {
        guard frames <= maxFrames else {
            throw ServiceError(.imageTooLarge, "the animation has \(frames) frames, over the \(maxFrames)-frame limit")
        }
        let (area, overflow) = size.width.multipliedReportingOverflow(by: size.height)
        let (total, overflow2) = area.multipliedReportingOverflow(by: frames)
        let (limit, overflow3) = maxPixels.multipliedReportingOverflow(by: 10)
        guard !overflow, !overflow2, overflow3 || total <= limit else {
            throw ServiceError(
                .imageTooLarge,
                "the animation is \(frames) frames of \(size.width)×\(size.height), over 10 × the \(maxPixels)-pixel limit")
        }
    }
}
