/// `pad:{top},{right},{bottom},{left}[,{colour}]`: borders of that colour (each 0–8192);
/// without a colour, transparent where the output format has alpha, white otherwise.
public struct PadOperation: ImageOperation, Equatable {
    public static let name = "pad"
    public static let maximumBorder = 8192
    public let top: Int
    public let right: Int
    public let bottom: Int
    public let left: Int
    public let colour: PadColour?

    public init(top: Int, right: Int, bottom: Int, left: Int, colour: PadColour? = nil) {
        (self.top, self.right, self.bottom, self.left, self.colour) = (top, right, bottom, left, colour)
    }

    public init(arguments: Substring?) throws(ServiceError) {
        guard let arguments else { throw Self.invalid("expected pad:{top},{right},{bottom},{left}[,{colour}]") }
        let parts = arguments.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 4 || parts.count == 5 else { throw Self.invalid("expected pad:{top},{right},{bottom},{left}[,{colour}]") }
        var sides: [Int] = []
        for part in parts.prefix(4) {
            guard let value = ArgumentScanner.integer(part), (0...Self.maximumBorder).contains(value) else {
                throw Self.invalid("borders are integers from 0 to \(Self.maximumBorder)")
            }
            sides.append(value)
        }
        (top, right, bottom, left) = (sides[0], sides[1], sides[2], sides[3])
        if parts.count == 5 {
            guard let colour = PadColour(parts[4]) else { throw Self.invalid("colour must be rrggbb or rrggbbaa") }
            self.colour = colour
        } else {
            colour = nil
        }
    }

    public var kind: OperationKind { .pad(self) }

    public var description: String {
        "pad:\(top),\(right),\(bottom),\(left)" + (colour.map { ",\($0)" } ?? "")
    }

    public func outputSize(for size: ImageSize) throws(ServiceError) -> ImageSize {
        ImageSize(width: size.width + left + right, height: size.height + top + bottom)
    }
}
