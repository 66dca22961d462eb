/// `resize:{W}x{H}[,fill|,force]`: fit inside (default), cover then centre-crop, or stretch.
public struct ResizeOperation: ImageOperation, Equatable {
    public enum Mode: String, Sendable {
        case fit, fill, force
    }

    public static let name = "resize"
    public let width: Int?
    public let height: Int?
    public let mode: Mode

    public init(width: Int?, height: Int?, mode: Mode = .fit) {
        self.width = width
        self.height = height
        self.mode = mode
    }

    public init(arguments: Substring?) throws(ServiceError) {
        guard let arguments else { throw Self.invalid("expected resize:{W}x{H}") }
        let parts = arguments.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { throw Self.invalid("expected resize:{W}x{H}[,fill|,force]") }
        if parts.count == 2 {
            guard let mode = Mode(rawValue: String(parts[1])), mode != .fit else {
                throw Self.invalid("mode must be fill or force")
            }
            self.mode = mode
        } else {
            mode = .fit
        }
        let sides = parts[0].split(separator: "x", omittingEmptySubsequences: false)
        guard sides.count == 2 else { throw Self.invalid("expected {W}x{H}") }
        func side(_ text: Substring) throws(ServiceError) -> Int? {
            if text.isEmpty { return nil }
            guard let value = ArgumentScanner.integer(text), value >= 1 else {
                throw Self.invalid("sides are integers of at least 1")
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
        return mode == .fit ? "resize:\(size)" : "resize:\(size),\(mode.rawValue)"
    }

    /// Fit scales by the smaller ratio, fill by the larger (then crops), force by neither;
    /// each side is round(side × scale), at least 1.
    public func outputSize(for size: ImageSize) throws(ServiceError) -> ImageSize {
        switch mode {
        case .force, .fill:
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

    public static func scaled(_ side: Int, _ scale: Double) -> Int {
        max(1, Int((Double(side) * scale).rounded()))
    }
}
