/// Every operation as one closed enum. Code that must handle each operation (the pixel
/// steps in ProgimageCore) switches over it exhaustively, so a new operation without its
/// step does not compile: an `ImageOperation` must name its case, and a new case breaks
/// every such switch until it is handled.
public enum OperationKind: Sendable {
    case resize(ResizeOperation)
    case crop(CropOperation)
    case rotate(RotateOperation)
    case flip(FlipOperation)
    case grayscale(GrayscaleOperation)
    case blur(BlurOperation)
    case sharpen(SharpenOperation)
    case pad(PadOperation)
    case overlay(OverlayOperation)
}
