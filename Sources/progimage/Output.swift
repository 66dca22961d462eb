import ArgumentParser
import Foundation
import POSIX
import ProgimageAPI
import ProgimageClient
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Standard output: JSON lines for programs, plain lines for people.
struct Output: Sendable {
    var isTerminal: Bool { isatty(1) == 1 }

    func line(_ text: String) {
        Self.standardOutput(Array((text + "\n").utf8))
    }

    /// Bytes to standard output, or exit 1 saying why they could not be written (a full
    /// disk, a closed descriptor): `FileHandle.write(_:)` trapped there with a stack trace
    /// (a black-box tester, `progimage info ID > /dev/full`). A closed pipe still ends the
    /// process by SIGPIPE, as for any filter.
    static func standardOutput(_ bytes: [UInt8]) {
        do throws(Errno) {
            try FileDescriptorIO.write(bytes, to: 1)
        } catch {
            Self.error("cannot write standard output: \(error)")
            exit(1)
        }
    }

    func json(_ image: ImageObject) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if let data = try? encoder.encode(image) { line(String(decoding: data, as: UTF8.self)) }
    }

    static func error(_ text: String) {
        standardError(Array("progimage: \(text)\n".utf8))
    }

    /// Bytes to standard error; where they cannot go, nowhere (nothing else could say so).
    static func standardError(_ bytes: [UInt8]) {
        try? FileDescriptorIO.write(bytes, to: 2)
    }
}

/// `[#####.....] 12/200` on standard error, redrawn in place; only on a terminal.
final class Progress: Sendable {
    private let total: Int
    private let visible: Bool
    private let done = Mutex<Int>(0)

    init(total: Int, visible: Bool) {
        self.total = total
        self.visible = visible && isatty(2) == 1
        draw(0)
    }

    func advance() { draw(done.withLock { $0 += 1; return $0 }) }
    func clear() { if visible { Output.standardError(Array("\r\u{1B}[K".utf8)) } }
    func finish() { if visible { Output.standardError(Array("\n".utf8)) } }

    private func draw(_ count: Int) {
        guard visible else { return }
        let width = 30
        let filled = total == 0 ? width : count * width / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        Output.standardError(Array("\r[\(bar)] \(count)/\(total)".utf8))
    }
}

/// The exit code of each class of failure (documented in `progimage --help`).
enum ExitCodes {
    static func code(for error: ProgimageClientError) -> Int32 {
        switch error {
        case .service(let status, _, _) where status == 404: 2
        case .service(let status, _, _) where status >= 500: 4
        // A redirect is no refusal of the input: the server is elsewhere (1, anything else).
        case .service(let status, _, _) where (300..<400).contains(status): 1
        case .service: 3
        case .unavailable: 4
        // Refused before anything was sent (an unreadable file, an output path that cannot
        // be written): not the service's refusal (3).
        case .invalidRequest: 1
        case .unreadableAnswer: 1
        }
    }

    /// Runs `body`; a client error is printed and becomes its exit code.
    static func reporting(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as ProgimageClientError {
            Output.error(error.description)
            throw ExitCode(code(for: error))
        }
    }
}

enum ImageFormatName {
    static func parse(_ text: String) -> ImageFormat? {
        let name = text.lowercased().hasPrefix(".") ? String(text.lowercased().dropFirst()) : text.lowercased()
        return ImageFormat(rawValue: name) ?? ImageFormat.aliases[name]
    }
}
