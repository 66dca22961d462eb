/// `resize:{W}x{H}[,fill[,{gravity}]|,force|,pad[,{colour}]]`: fit inside (default), cover
/// then crop (centred, at a gravity, or at the most interesting window), stretch, or fit
/// then pad to exactly W×H.
public struct ResizeOperation: ImageOperation, Equatable {
    public enum Mode: String, Sendable {
        case fit, fill, force, pad
    }

    /// Where `fill` keeps its window: a side or corner, or `smart` (the window with the most
    /// edges, saturation and skin tones). Centre is the default and is not written.
    public enum Gravity: String, Sendable, CaseIterable {
        case north = "n", northEast = "ne", east = "e", southEast = "se", south = "s", southWest = "sw", west = "w"
        case northWest = "nw", smart
    }

    public static let name = "resize"
    public let width: Int?
    public let height: Int?
    public let mode: Mode
    /// `fill` only; nil is centre.
    public let gravity: Gravity?
    /// `pad` only; nil is transparent where the output has alpha, else white.
    public let padColour: PadColour?

    public init(width: Int?, height: Int?, mode: Mode = .fit, gravity: Gravity? = nil, padColour: PadColour? = nil) {
        self.width = width
        self.height = height
        self.mode = mode
        self.gravity = gravity
        self.padColour = padColour
    }

    public init(arguments: Substring?) throws(ServiceError) {
        guard let arguments else { throw Self.invalid("expected resize:{W}x{H}") }
        let parts = arguments.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count <= 3 else { throw Self.invalid("expected resize:{W}x{H}[,fill[,gravity]|,force|,pad[,colour]]") }
        var gravity: Gravity?
        var padColour: PadColour?
        if parts.count >= 2 {
            guard let mode = Mode(rawValue: String(parts[1])), mode != .fit else {
                throw Self.invalid("mode must be fill, force or pad")
            }
            self.mode = mode
            if parts.count == 3 {
                switch mode {
                case .fill:
                    // `c` (centre) is a valid spelling of the default, printed without it.
                    if parts[2] != "c" {
                        guard let named = Gravity(rawValue: String(parts[2])) else {
                            throw Self.invalid("gravity must be one of n ne e se s sw w nw smart")
                        }
                        gravity = named
                    }
                case .pad:
                    guard let colour = PadColour(parts[2]) else { throw Self.invalid("colour must be rrggbb or rrggbbaa") }
                    padColour = colour
                case .fit, .force:
                    throw Self.invalid("\(mode.rawValue) takes no third argument")
                }
            }
        } else {
            mode = .fit
        }
        self.gravity = gravity
        self.padColour = padColour
        let sides = parts[0].split(separator: "x", omittingEmptySubsequences: false)
        guard sides.count == 2 else { throw Self.invalid("expected {W}x{H}") }
        func side(_ text: Substring) throws(ServiceError) -> Int? {
            if text.isEmpty { return nil }
            guard let value = ArgumentScanner.integer(text), value >= 1 else {
                throw Self.invalid("sides are integers of at least 1, of at most \(ArgumentScanner.maximumDigits) digits")
            }
            return value
        }
        width = try side(sides[0])
        height = try side(sides[1])
        guard width != nil || height != nil else { throw Self.invalid("give a width, a height or both") }
        guard mode == .fit || (width != nil && height != nil) else {
            throw Self.invalid("\(mode.rawValue) needs both sides")
        }
    }

    public var kind: OperationKind { .resize(self) }

    public var description: String {
        let size = "\(width.map(String.init) ?? "")x\(height.map(String.init) ?? "")"
        var text = mode == .fit ? "resize:\(size)" : "resize:\(size),\(mode.rawValue)"
        if let gravity { text += ",\(gravity.rawValue)" }
        if let padColour { text += ",\(padColour)" }
        return text
    }

    /// Fit scales by the smaller ratio, fill by the larger (then crops), force by neither;
    /// each side is round(side × scale), at least 1.
    public func outputSize(for size: ImageSize) throws(ServiceError) -> ImageSize {
        switch mode {
        case .force, .fill, .pad:
            return ImageSize(width: width!, height: height!)
        case .fit:
            let scale = fitScale(for: size)
            return ImageSize(width: Self.scaled(size.width, scale), height: Self.scaled(size.height, scale))
        }
    }

    /// The scale that fits (or, for fill, covers) the box.
    public func fitScale(for size: ImageSize) -> Double {
        let sx = width.map { Double($0) / Double(size.width) }
        let sy = height.map { Double($0) / Double(size.height) }
        switch (sx, sy) {
        case let (x?, y?): return mode == .fill ? max(x, y) : min(x, y)
        case let (x?, nil): return x
        case let (nil, y?): return y
        case (nil, nil): return 1
        }
    }

    /// Where `scaled` stops: a side far over any output limit (which then refuses it, before
    /// anything multiplies two sides), yet small enough that `Int` holds it. An 18-digit
    /// `resize:999999999999999999x` of a 1-px-wide source scaled its 10⁸-px height to 10²⁶,
    /// which `Int(_:)` traps on.
    public static let largestSide = 1 << 40

    public static func scaled(_ side: Int, _ scale: Double) -> Int {
        max(1, Int(min((Double(side) * scale).rounded(), Double(largestSide))))
    }
}
