/// `overlay:{id}[,{gravity}[,{opacity}]]`: image `{id}` (upright, first frame, its own
/// alpha) composited over the current image at a gravity (`se` by default) with an opacity
/// (0.01–1, 1 by default); an overlay larger than the image is first shrunk to fit inside it.
public struct OverlayOperation: ImageOperation, Equatable {
    public enum Gravity: String, Sendable, CaseIterable {
        case north = "n", northEast = "ne", east = "e", southEast = "se", south = "s", southWest = "sw", west = "w"
        case northWest = "nw", centre = "c"
    }

    public static let name = "overlay"
    public let image: ImageID
    public let gravity: Gravity
    public let opacity: Double

    public init(image: ImageID, gravity: Gravity = .southEast, opacity: Double = 1) {
        (self.image, self.gravity, self.opacity) = (image, gravity, opacity)
    }

    public init(arguments: Substring?) throws(ServiceError) {
        guard let arguments else { throw Self.invalid("expected overlay:{id}[,{gravity}[,{opacity}]]") }
        let parts = arguments.split(separator: ",", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count) else { throw Self.invalid("expected overlay:{id}[,{gravity}[,{opacity}]]") }
        // An id position, as in `/images/{id}`: what cannot be an id names no image (API.md:
        // "Anything else in an id position is a 404"), like a well-formed id nobody has.
        guard let id = ImageID(parts[0]) else { throw ServiceError(.notFound, "no image with id \(parts[0])") }
        image = id
        if parts.count >= 2 {
            guard let named = Gravity(rawValue: String(parts[1])) else { throw Self.invalid("gravity must be one of n ne e se s sw w nw c") }
            gravity = named
        } else {
            gravity = .southEast
        }
        if parts.count == 3 {
            // Hundredths compared with a tolerance: 0.07 × 100 is 7.000000000000001 in
            // binary, and 0.07, 0.14, 0.28, 0.29 and 0.55–0.58 were refused.
            guard let value = ArgumentScanner.decimal(parts[2]), (0.01...1).contains(value),
                abs((value * 100).rounded() - value * 100) < 1e-9
            else { throw Self.invalid("opacity is a decimal from 0.01 to 1, at most two decimals") }
            opacity = (value * 100).rounded() / 100
        } else {
            opacity = 1
        }
    }

    public var kind: OperationKind { .overlay(self) }

    /// Defaults are left out: `overlay:{id}` is south-east at full opacity.
    public var description: String {
        if opacity != 1 { return "overlay:\(image),\(gravity.rawValue),\(ArgumentScanner.canonical(opacity))" }
        return gravity == .southEast ? "overlay:\(image)" : "overlay:\(image),\(gravity.rawValue)"
    }

    public func outputSize(for size: ImageSize) throws(ServiceError) -> ImageSize { size }
}
