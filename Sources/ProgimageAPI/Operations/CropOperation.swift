/// `crop:{x},{y},{w},{h}`: the region, intersected with the image.
public struct CropOperation: ImageOperation, Equatable {
    public static let name = "crop"
    public let x: Int, y: Int, width: Int, height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        (self.x, self.y, self.width, self.height) = (x, y, width, height)
    }

    public init(arguments: Substring?) throws(ServiceError) {
        let values = (arguments ?? "").split(separator: ",", omittingEmptySubsequences: false).map {
            ArgumentScanner.integer($0)
        }
        guard values.count == 4, let x = values[0], let y = values[1], let w = values[2], let h = values[3] else {
            throw Self.invalid("expected crop:{x},{y},{w},{h} with non-negative integers of at most \(ArgumentScanner.maximumDigits) digits")
        }
        guard w >= 1, h >= 1 else { throw Self.invalid("width and height must be at least 1") }
        (self.x, self.y, width, height) = (x, y, w, h)
    }

    public var kind: OperationKind { .crop(self) }

    public var description: String { "crop:\(x),\(y),\(width),\(height)" }

    /// The requested rectangle clipped to an image of `size`; an empty intersection is a
    /// client error, found before any pixel is touched.
    public func clipped(to size: ImageSize) throws(ServiceError) -> (x: Int, y: Int, width: Int, height: Int) {
        let right = min(size.width, x + width)
        let bottom = min(size.height, y + height)
        guard x < size.width, y < size.height, right > x, bottom > y else {
            throw Self.invalid("the region \(width)x\(height) at \(x),\(y) lies outside the \(size) image")
        }
        return (x, y, right - x, bottom - y)
    }

    public func outputSize(for size: ImageSize) throws(ServiceError) -> ImageSize {
        let region = try clipped(to: size)
        return ImageSize(width: region.width, height: region.height)
    }
}
