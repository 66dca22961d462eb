import Testing

@testable import ProgimageAPI

/// Seeded mutation fuzzing of the URL parser, bounded so it runs in every `make test`
/// (`PROGIMAGE_FUZZ_ITERATIONS` raises the count for a longer run). Invariants: nothing
/// traps; a parsed transform prints to a path that parses to the same chain; a redirect
/// target is itself canonical, so no URL can redirect in a loop.
@Suite struct OperationParserFuzzTests {
    static let seeds = [
        "/images/k3J9x0PqLm2vT8wZ/crop:0,0,800,800/resize:200x200/rotate:90.webp",
        "/images/k3J9x0PqLm2vT8wZ/resize:200x100,fill/blur:2.5/quality:80.jpg",
        "/images/k3J9x0PqLm2vT8wZ/flip:hv/grayscale/sharpen:10.avif",
        "/images/k3J9x0PqLm2vT8wZ/resize:300x200,fill,smart/pad:1,2,3,4,ff000080.png",
        "/images/k3J9x0PqLm2vT8wZ/resize:300x200,pad,00ff00.auto",
        "/images/k3J9x0PqLm2vT8wZ.png",
        "/images/k3J9x0PqLm2vT8wZ",
        "/images",
    ]
    static let alphabet = Array("/:,.x+-0123456789abcdefghijklmnopqrstuvwxyzAZ_%\u{0}\u{7F}é🙂 ")

    static var iterations: Int {
        Int(Environment.variable("PROGIMAGE_FUZZ_ITERATIONS") ?? "") ?? 100_000
    }

    static func mutate(_ text: String, _ g: inout SplitMix) -> String {
        var chars = Array(text)
        for _ in 0..<Int.random(in: 1...4, using: &g) {
            let at = chars.isEmpty ? 0 : Int.random(in: 0..<chars.count, using: &g)
            switch Int.random(in: 0...4, using: &g) {
            case 0: chars.insert(alphabet.randomElement(using: &g)!, at: at)
            case 1: if !chars.isEmpty { chars.remove(at: at) }
            case 2: if !chars.isEmpty { chars[at] = alphabet.randomElement(using: &g)! }
            case 3:  // duplicate a run, e.g. a whole segment
                let end = min(chars.count, at + Int.random(in: 1...12, using: &g))
                chars.insert(contentsOf: chars[at..<end], at: at)
            default:
                let digits = Array(String(Int.random(in: 0...99_999_999_999, using: &g)))
                chars.insert(contentsOf: digits, at: at)
            }
        }
        return String(chars)
    }

    @Test func mutatedPathsKeepTheParserInvariants() {
        var g = SplitMix(seed: 0xF022)
        var parsed = 0, redirected = 0, refused = 0
        for i in 0..<Self.iterations {
            let path = Self.mutate(Self.seeds[i % Self.seeds.count], &g)
            do {
                switch try ImageRequestPath.parse(path) {
                case .derived(let id, let chain):
                    parsed += 1
                    let printed = "/images/\(id)\(chain)"
                    guard case .derived(_, let again) = try ImageRequestPath.parse(printed) else {
                        Issue.record("\(path) printed to non-canonical \(printed)")
                        continue
                    }
                    #expect(again.description == chain.description, "\(path)")
                case .redirect(_, let target, _):
                    redirected += 1
                    // A canonical image URL, or a canonical `.auto` one.
                    switch try ImageRequestPath.parse(target) {
                    case .derived, .auto: break
                    default: Issue.record("\(path) redirects to \(target), which is not canonical")
                    }
                case .metadata, .collection, .auto:
                    parsed += 1
                }
            } catch {
                refused += 1
                #expect([.notFound, .badOperation].contains(error.code), "\(path): \(error)")
            }
        }
        // The mutations must reach every outcome, or the fuzzer is testing nothing.
        #expect(parsed > 0 && redirected > 0 && refused > 0, "parsed \(parsed), redirected \(redirected), refused \(refused)")
    }
}

enum Environment {
    static func variable(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }
}

#if canImport(Glibc)
import Glibc
#endif
