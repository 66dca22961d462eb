import Foundation

/// `rotate:{deg}`: clockwise, canonical 0–359; multiples of 90 are exact.
public struct RotateOperation: ImageOperation, Equatable {
    public static let name = "rotate"
    public let degrees: Int

    public init(degrees: Int) {
        self.degrees = ((degrees % 360) + 360) % 360
    }

    public init(arguments: Substring?) throws(ServiceError) {
        guard let arguments, let value = ArgumentScanner.integer(arguments, allowNegative: true) else {
            throw Self.invalid("expected rotate:{degrees} as an integer")
        }
        self.init(degrees: value)
    }

    public var kind: OperationKind { .rotate(self) }

    public var description: String { "rotate:\(degrees)" }

    /// 90 and 270 swap the sides; other angles give the rotated bounding box.
    public func outputSize(for size: ImageSize) throws(ServiceError) -> ImageSize {
        switch degrees {
        case 0, 180: return size
        case 90, 270: return ImageSize(width: size.height, height: size.width)
        default:
            let radians = Double(degrees) * .pi / 180
            let c = abs(cos(radians)), s = abs(sin(radians))
            let w = Double(size.width), h = Double(size.height)
            return ImageSize(width: max(1, Int((w * c + h * s).rounded())), height: max(1, Int((w * s + h * c).rounded())))
        }
    }
}
