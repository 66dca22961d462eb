import Testing

@testable import ProgimageAPI

@Suite struct OperationParserTests {
    static let id = "k3J9x0PqLm2vT8wZ"

    func parse(_ path: String) throws(ServiceError) -> ImageRequestPath {
        try ImageRequestPath.parse(path)
    }

    @Test(arguments: [
        "/images/k3J9x0PqLm2vT8wZ.webp",
        "/images/k3J9x0PqLm2vT8wZ/resize:200x.webp",
        "/images/k3J9x0PqLm2vT8wZ/resize:x600.png",
        "/images/k3J9x0PqLm2vT8wZ/resize:200x100,fill.jpg",
        "/images/k3J9x0PqLm2vT8wZ/resize:200x100,force.jpg",
        "/images/k3J9x0PqLm2vT8wZ/crop:0,0,800,800/resize:200x200/rotate:90.webp",
        "/images/k3J9x0PqLm2vT8wZ/flip:hv/grayscale/blur:2.5/sharpen:10.avif",
        "/images/k3J9x0PqLm2vT8wZ/rotate:0.png",
        "/images/k3J9x0PqLm2vT8wZ/blur:0.125/quality:80.jpg",
        "/images/k3J9x0PqLm2vT8wZ/quality:1.heic",
    ])
    func canonicalPathsParseAndPrintBack(path: String) throws {
        guard case .derived(let id, let chain) = try parse(path) else {
            Issue.record("\(path) did not parse as derived")
            return
        }
        #expect("/images/\(id)\(chain)" == path)
    }

    /// Every hundredth from 0.01 to 0.99 is a canonical opacity: 0.07 and seven others were
    /// refused, their hundredfold not a whole binary number.
    @Test func everyHundredthIsAnOverlayOpacity() throws {
        for hundredths in 1...99 {
            let text = hundredths % 10 == 0 ? "0.\(hundredths / 10)" : String(format2: hundredths)
            let path = "/images/\(Self.id)/overlay:\(Self.id),c,\(text).png"
            guard case .derived(let id, let chain) = try parse(path) else {
                Issue.record("\(path) did not parse as derived")
                continue
            }
            #expect("/images/\(id)\(chain)" == path)
        }
    }

    @Test(arguments: [
        ("/images/k3J9x0PqLm2vT8wZ/resize:0200x.webp", "/images/k3J9x0PqLm2vT8wZ/resize:200x.webp"),
        ("/images/k3J9x0PqLm2vT8wZ/blur:2.50.webp", "/images/k3J9x0PqLm2vT8wZ/blur:2.5.webp"),
        ("/images/k3J9x0PqLm2vT8wZ/blur:3.0.webp", "/images/k3J9x0PqLm2vT8wZ/blur:3.webp"),
        // Trailing zeros past the third decimal are still the same value (they were 400).
        ("/images/k3J9x0PqLm2vT8wZ/blur:0.1000.webp", "/images/k3J9x0PqLm2vT8wZ/blur:0.1.webp"),
        ("/images/k3J9x0PqLm2vT8wZ/blur:50.0000.webp", "/images/k3J9x0PqLm2vT8wZ/blur:50.webp"),
        ("/images/k3J9x0PqLm2vT8wZ/sharpen:10.0000.webp", "/images/k3J9x0PqLm2vT8wZ/sharpen:10.webp"),
        // Any number of zeros, as for integers (past 12 characters they were 400).
        ("/images/k3J9x0PqLm2vT8wZ/blur:00000000000000000000002.5000000000000000.webp", "/images/k3J9x0PqLm2vT8wZ/blur:2.5.webp"),
        ("/images/k3J9x0PqLm2vT8wZ/sharpen:0000000000005.webp", "/images/k3J9x0PqLm2vT8wZ/sharpen:5.webp"),
        ("/images/k3J9x0PqLm2vT8wZ/blur:.50000000000000.webp", "/images/k3J9x0PqLm2vT8wZ/blur:0.5.webp"),
        ("/images/k3J9x0PqLm2vT8wZ/overlay:k3J9x0PqLm2vT8wZ,se,0.5000.png", "/images/k3J9x0PqLm2vT8wZ/overlay:k3J9x0PqLm2vT8wZ,se,0.5.png"),
        ("/images/k3J9x0PqLm2vT8wZ/rotate:+90.webp", "/images/k3J9x0PqLm2vT8wZ/rotate:90.webp"),
        ("/images/k3J9x0PqLm2vT8wZ/rotate:-90.webp", "/images/k3J9x0PqLm2vT8wZ/rotate:270.webp"),
        ("/images/k3J9x0PqLm2vT8wZ/rotate:450.webp", "/images/k3J9x0PqLm2vT8wZ/rotate:90.webp"),
        ("/images/k3J9x0PqLm2vT8wZ/resize:+20x010.png", "/images/k3J9x0PqLm2vT8wZ/resize:20x10.png"),
        ("/images/k3J9x0PqLm2vT8wZ/quality:80/resize:10x.jpg", "/images/k3J9x0PqLm2vT8wZ/resize:10x/quality:80.jpg"),
        ("/images/k3J9x0PqLm2vT8wZ/resize:10x.jpeg", "/images/k3J9x0PqLm2vT8wZ/resize:10x.jpg"),
        ("/images/k3J9x0PqLm2vT8wZ.tif", "/images/k3J9x0PqLm2vT8wZ.tiff"),
        ("/images/k3J9x0PqLm2vT8wZ/flip:vh.png", "/images/k3J9x0PqLm2vT8wZ/flip:hv.png"),
        ("/images/k3J9x0PqLm2vT8wZ/rotate:-90/resize:040x.auto", "/images/k3J9x0PqLm2vT8wZ/rotate:270/resize:40x.auto"),
        ("/images/k3J9x0PqLm2vT8wZ/quality:080.auto", "/images/k3J9x0PqLm2vT8wZ/quality:80.auto"),
    ])
    func nonCanonicalSpellingsRedirect(path: String, canonical: String) throws {
        guard case .redirect(_, let target, _) = try parse(path) else {
            Issue.record("\(path) did not redirect")
            return
        }
        #expect(target == canonical)
    }

    @Test(arguments: [
        "/images/k3J9x0PqLm2vT8wZ/resize:0x10.png", "/images/k3J9x0PqLm2vT8wZ/resize:x.png",
        "/images/k3J9x0PqLm2vT8wZ/resize:10x10,cover.png", "/images/k3J9x0PqLm2vT8wZ/resize:10x,fill.png",
        "/images/k3J9x0PqLm2vT8wZ/crop:0,0,0,10.png", "/images/k3J9x0PqLm2vT8wZ/crop:1,2,3.png",
        "/images/k3J9x0PqLm2vT8wZ/rotate:ninety.png", "/images/k3J9x0PqLm2vT8wZ/flip:x.png",
        "/images/k3J9x0PqLm2vT8wZ/flip:hh.png", "/images/k3J9x0PqLm2vT8wZ/resize:-20x.png",
        "/images/k3J9x0PqLm2vT8wZ/grayscale:1.png", "/images/k3J9x0PqLm2vT8wZ/blur:0.05.png",
        "/images/k3J9x0PqLm2vT8wZ/blur:51.png", "/images/k3J9x0PqLm2vT8wZ/blur:1e1.png",
        "/images/k3J9x0PqLm2vT8wZ/blur:1.2345.png", "/images/k3J9x0PqLm2vT8wZ/blur:1.00001.png",
        "/images/k3J9x0PqLm2vT8wZ/blur:..png", "/images/k3J9x0PqLm2vT8wZ/blur:1.2.3.png",
        "/images/k3J9x0PqLm2vT8wZ/blur:+.png", "/images/k3J9x0PqLm2vT8wZ/blur:1000000000000000000000.png",
        "/images/k3J9x0PqLm2vT8wZ/sharpen:0.png", "/images/k3J9x0PqLm2vT8wZ/sharpen:101.png",
        "/images/k3J9x0PqLm2vT8wZ/quality:80.png", "/images/k3J9x0PqLm2vT8wZ/quality:0.jpg",
        "/images/k3J9x0PqLm2vT8wZ/quality:80/quality:70.jpg", "/images/k3J9x0PqLm2vT8wZ/sepia.png",
        "/images/k3J9x0PqLm2vT8wZ/flip:h/flip:h/flip:h/flip:h/flip:h/flip:h/flip:h/flip:h/flip:h.png",
    ])
    func badOperationsAreRefusedNamingTheOperation(path: String) {
        #expect(throws: ServiceError.self) { try parse(path) }
        do {
            _ = try parse(path)
        } catch {
            #expect(error.code == .badOperation)
        }
    }

    /// A sigma in range with a fourth decimal was refused with "a decimal from 0.1 to 50",
    /// which it is: the message names the rule it breaks.
    @Test(arguments: ["blur:1.2345", "sharpen:10.0001"])
    func aFourthDecimalIsNamedInTheRefusal(operation: String) {
        do {
            _ = try parse("/images/k3J9x0PqLm2vT8wZ/\(operation).png")
            Issue.record("\(operation) was accepted")
        } catch {
            #expect(error.message.contains("at most three decimals"), "\(error.message)")
        }
    }

    @Test(arguments: ["/images/short.png", "/images/k3J9x0PqLm2vT8wZ.xyz", "/images/k3J9x0PqLm2vT8w!.png", "/nope"])
    func unknownShapesAreNotFound(path: String) {
        do {
            _ = try parse(path)
            Issue.record("\(path) parsed")
        } catch {
            #expect(error.code == .notFound)
        }
    }

    @Test func rolesFollowTheLastPixelOperation() throws {
        func role(_ path: String) throws -> TransformRole? {
            guard case .derived(_, let chain) = try parse(path) else { return nil }
            return chain.role
        }
        #expect(try role("/images/\(Self.id).webp") == .convert)
        #expect(try role("/images/\(Self.id)/quality:50.webp") == .convert)
        #expect(try role("/images/\(Self.id)/resize:10x/grayscale.webp")?.rawValue == "grayscale")
        #expect(try role("/images/\(Self.id)/blur:1/crop:0,0,1,1/quality:5.jpg")?.rawValue == "crop")
        #expect(TransformRole.all.map(\.rawValue) == [
            "api", "convert", "resize", "crop", "rotate", "flip", "grayscale", "blur", "sharpen", "pad", "overlay",
        ])
    }

    @Test func outputLimitsAreCheckedBeforePixels() throws {
        guard case .derived(_, let chain) = try parse("/images/\(Self.id)/resize:9000x.png") else { return }
        #expect(throws: ServiceError(.imageTooLarge, "resize:9000x gives 9000x4500, over the 8192-pixel output limit")) {
            try chain.outputSize(for: ImageSize(width: 100, height: 50), maximumSide: 8192)
        }
        // A step may be as large as the source: only the output is held to the limit.
        guard case .derived(_, let flipped) = try parse("/images/\(Self.id)/flip:h/resize:100x.png") else { return }
        #expect(try flipped.outputSize(for: ImageSize(width: 9000, height: 100), maximumSide: 8192) == ImageSize(width: 100, height: 1))
        guard case .derived(_, let padded) = try parse("/images/\(Self.id)/pad:0,10,0,0/resize:100x.png") else { return }
        #expect(throws: ServiceError.self) { try padded.outputSize(for: ImageSize(width: 9000, height: 100), maximumSide: 8192) }
        guard case .derived(_, let turned) = try parse("/images/\(Self.id)/rotate:45/resize:100x.png") else { return }
        #expect(throws: ServiceError.self) { try turned.outputSize(for: ImageSize(width: 20000, height: 1), maximumSide: 8192) }
        guard case .derived(_, let webp) = try parse("/images/\(Self.id).webp") else { return }
        #expect(throws: ServiceError.self) { try webp.outputSize(for: ImageSize(width: 20000, height: 1), maximumSide: 8192) }
    }

    /// parse(print(x)) == x for random chains.
    @Test func randomChainsRoundTrip() throws {
        var generator = SplitMix(seed: 42)
        for _ in 0..<2000 {
            var segments: [String] = []
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                segments.append(Self.randomSegment(&generator))
            }
            let format = ImageFormat.allCases.randomElement(using: &generator)!
            if format.acceptsQuality, Bool.random(using: &generator) {
                segments.append("quality:\(Int.random(in: 1...100, using: &generator))")
            }
            let path = "/images/\(Self.id)/" + segments.joined(separator: "/") + ".\(format.rawValue)"
            guard case .derived(let id, let chain) = try parse(path) else {
                Issue.record("\(path) did not parse canonically")
                continue
            }
            let printed = "/images/\(id)\(chain)"
            #expect(printed == path)
            guard case .derived(_, let again) = try parse(printed) else { continue }
            #expect(again.description == chain.description)
        }
    }

    static func randomSegment(_ g: inout SplitMix) -> String {
        func n(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &g) }
        switch n(0...6) {
        case 0:
            switch n(0...4) {
            case 0: return "resize:\(n(1...5000))x"
            case 1: return "resize:x\(n(1...5000))"
            case 2: return "resize:\(n(1...5000))x\(n(1...5000))"
            case 3: return "resize:\(n(1...5000))x\(n(1...5000)),fill"
            default: return "resize:\(n(1...5000))x\(n(1...5000)),force"
            }
        case 1: return "crop:\(n(0...5000)),\(n(0...5000)),\(n(1...5000)),\(n(1...5000))"
        case 2: return "rotate:\(n(0...359))"
        case 3: return ["flip:h", "flip:v", "flip:hv"][n(0...2)]
        case 4: return "grayscale"
        case 5:
            let thousandths = n(100...50_000)
            return "blur:\(ArgumentScanner.canonical(Double(thousandths) / 1000))"
        default: return "sharpen:\(n(1...100))"
        }
    }
}

/// A preset's `quality` applies where the output takes one and is left out elsewhere, so
/// `preset:thumb.png` (where `.auto` sends an image with alpha) is a png, not a 400.
@Suite struct PresetQualityTests {
    static let presets = try! PresetTable.parse("thumb=resize:60x60,fill/quality:70;q=quality:20", presetsOnly: false).get()

    func chain(_ operations: String, _ format: ImageFormat) throws(ServiceError) -> OperationChain {
        try OperationParser.parse(Substring(operations), format: format, presets: Self.presets).chain
    }

    @Test func appliesToTheLossyFormats() throws {
        for format in ImageFormat.allCases where format.acceptsQuality {
            #expect(try chain("preset:thumb", format).quality == 70)
            #expect(try chain("flip:h/preset:q", format).quality == 20)
        }
    }

    @Test func isLeftOutOfTheOthers() throws {
        for format in ImageFormat.allCases where !format.acceptsQuality {
            let thumb = try chain("preset:thumb", format)
            #expect(thumb.quality == nil && thumb.operations.count == 1)
            #expect("\(thumb)" == "/preset:thumb.\(format.rawValue)")
            #expect(try chain("preset:q", format).operations.isEmpty)
        }
    }

    /// A URL's own `quality` stays a 400 where the format takes none, beside a preset too.
    @Test func aURLsOwnQualityIsStillRefused() {
        #expect(throws: ServiceError.self) { try chain("preset:thumb/quality:50", .png) }
        #expect(throws: ServiceError.self) { try chain("preset:thumb/quality:50", .jpg) }
    }
}

/// A seeded generator, so a failing random case can be replayed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension String {
    /// `0.07` for 7: two decimals, no Foundation.
    fileprivate init(format2 hundredths: Int) {
        self = "0." + (hundredths < 10 ? "0" : "") + String(hundredths)
    }
}
