import ArgumentParser
import Foundation
import ProgimageAPI
import ProgimageClient
import POSIX

struct Upload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Upload images: one JSON line per image on stdout when piped, a progress bar on a terminal.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Uploads in flight at once (1–64).")
    var concurrency: Int = 4

    @Argument(help: "Image files; `-` is standard input (no filename is sent for it).")
    var files: [String]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one file") }
        guard files.filter({ $0 == "-" }).count <= 1 else { throw ValidationError("standard input (-) can be read once") }
        guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency must be 1–64") }
    }

    func run() async throws {
        let client = try connection.client()
        let output = Output()
        let progress = Progress(total: files.count, visible: output.isTerminal)
        var failures: [ProgimageClientError] = []
        // Piped, the JSON lines come in the files' order, whatever order the uploads finish
        // in: a line carries the file's last path component only (`a/x.png` and `b/x.png`
        // were told apart by their sha256 alone). A failed file has no line.
        var finished = [ImageObject?](repeating: nil, count: files.count)
        var isDone = [Bool](repeating: false, count: files.count)
        var nextLine = 0
        await withTaskGroup(of: (Int, Result<ImageObject, ProgimageClientError>).self) { group in
            var pending = files.indices[...]
            func startNext() {
                guard let index = pending.popFirst() else { return }
                let file = files[index]
                group.addTask {
                    do throws(ProgimageClientError) {
                        if file == "-" { return (index, .success(try await client.upload(try Self.standardInput()))) }
                        return (index, .success(try await client.upload(fileAt: URL(fileURLWithPath: file))))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            for _ in 0..<concurrency { startNext() }
            while let (index, result) = await group.next() {
                isDone[index] = true
                switch result {
                case .success(let image):
                    if output.isTerminal {
                        progress.clear()
                        output.line("\(image.id)  \(image.width)x\(image.height) \(image.format.rawValue)  \(files[index])")
                    } else {
                        finished[index] = image
                    }
                case .failure(let error):
                    progress.clear()
                    Output.error("\(files[index]): \(error)")
                    failures.append(error)
                }
                while nextLine < files.count, isDone[nextLine] {
                    if let image = finished[nextLine] { output.json(image) }
                    finished[nextLine] = nil
                    nextLine += 1
                }
                progress.advance()
                startNext()
            }
        }
        progress.finish()
        if let worst = failures.map(ExitCodes.code(for:)).max() { throw ExitCode(worst) }
    }
}

extension Upload {
    static func standardInput() throws(ProgimageClientError) -> Data {
        do {
            return try FileHandle.standardInput.readToEnd() ?? Data()
        } catch {
            throw .invalidRequest("cannot read standard input: \(error.localizedDescription)")
        }
    }
}

struct Info: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print an image's metadata as JSON.", usage: "progimage info [--server <server>] [--api-key <api-key>] <id>")
    @OptionGroup var connection: ConnectionOptions
    @Argument(parsing: .allUnrecognized, help: ImageIDArgument.help) var ids: [String]

    func validate() throws { _ = try ImageIDArgument.single(ids) }

    func run() async throws {
        let id = try ImageIDArgument.single(ids)
        try await ExitCodes.reporting { Output().json(try await connection.client().image(id)) }
    }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List images, newest first, as JSON lines.")
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "At most this many images.") var limit: Int = 100

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        let output = Output()
        try await ExitCodes.reporting {
            var printed = 0
            for try await image in try connection.client().images(pageSize: min(limit, 1000)) {
                output.json(image)
                printed += 1
                if printed == limit { break }
            }
        }
    }
}

struct Remove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete images.")
    @OptionGroup var connection: ConnectionOptions
    @Argument(parsing: .allUnrecognized, help: "Image ids.") var ids: [String]

    func validate() throws {
        guard !ImageIDArgument.withoutSeparator(ids).isEmpty else { throw ValidationError("name at least one image id") }
        _ = try ImageIDArgument.ids(ids)
    }

    func run() async throws {
        let client = try connection.client()
        var worst: Int32?
        for id in try ImageIDArgument.ids(ids) {
            do {
                try await client.delete(id)
            } catch {
                Output.error("\(id): \(error)")
                worst = max(worst ?? 0, ExitCodes.code(for: error))
            }
        }
        if let worst { throw ExitCode(worst) }
    }
}

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download a conversion or transform of an image.",
        usage: """
            progimage get [--server <server>] [--api-key <api-key>] [--ops <ops>] --format <format> [--signing-key <signing-key>] \\
              --output <output> <id>
            """)
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var selection: ImageSelection
    @Option(name: .customLong("signing-key"), help: "Signs the URL (default: PROGIMAGE_SIGNING_KEY).") var signingKey: String?
    @Option(name: .shortAndLong, help: "Where to write the image (- for stdout).") var output: String
    @Argument(parsing: .allUnrecognized, help: ImageIDArgument.help) var ids: [String]

    func validate() throws { _ = try ImageIDArgument.single(ids) }

    func run() async throws {
        let link = try selection.link(id: try ImageIDArgument.single(ids))
        let client = try connection.client(signingKey: signingKey)
        try await ExitCodes.reporting {
            // Checked first: a path that cannot be written costs the service nothing.
            let destination: PreparedOutputFile?
            do throws(SystemCallError) {
                destination = output == "-" ? nil : try PreparedOutputFile(path: output)
            } catch {
                throw ProgimageClientError.invalidRequest("cannot write \(output): \(error.errno)")
            }
            let bytes = try await client.data(for: link)
            guard let destination else { return Output.standardOutput(Array(bytes)) }
            do throws(SystemCallError) {
                try destination.commit(Array(bytes))
            } catch {
                throw ProgimageClientError.invalidRequest("cannot write \(output): \(error.errno)")
            }
        }
    }
}

struct Link: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "url", abstract: "Print the full URL of a conversion or transform (signed with a signing key).",
        usage: """
            progimage url [--server <server>] [--api-key <api-key>] [--ops <ops>] --format <format> [--signing-key <signing-key>] <id>
            """)
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var selection: ImageSelection
    @Option(name: .customLong("signing-key"), help: "Signs the URL (default: PROGIMAGE_SIGNING_KEY).") var signingKey: String?
    @Argument(parsing: .allUnrecognized, help: ImageIDArgument.help) var ids: [String]

    func validate() throws { _ = try ImageIDArgument.single(ids) }

    func run() async throws {
        let link = try selection.link(id: try ImageIDArgument.single(ids))
        Output().line(try connection.client(signingKey: signingKey).url(for: link).absoluteString)
    }
}

struct UploadLink: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload-url",
        abstract: "Print a signed upload URL a browser may POST images to without the API key, until it expires.")
    @OptionGroup var connection: ConnectionOptions
    @Option(name: .customLong("signing-key"), help: "The service's signing key (default: PROGIMAGE_SIGNING_KEY).") var signingKey: String?
    @Option(help: "Seconds from now until the URL expires.") var expiresIn: Int = 3600
    @Option(name: .customLong("max-bytes"), help: "The largest request body the URL accepts.") var maxBytes: Int?

    func validate() throws {
        guard expiresIn > 0 else { throw ValidationError("--expires-in must be positive") }
        if let maxBytes, maxBytes < 1 { throw ValidationError("--max-bytes must be positive") }
    }

    func run() async throws {
        let (expires, overflow) = Int(Date().timeIntervalSince1970).addingReportingOverflow(expiresIn)
        guard !overflow else { throw ValidationError("--expires-in is too large") }
        do {
            Output().line(try connection.client(signingKey: signingKey).uploadURL(expires: expires, maxBytes: maxBytes).absoluteString)
        } catch let error as ProgimageClientError {
            throw ValidationError(error.description)
        }
    }
}

/// Image ids are base64url, and one in 64 begins with `-`, which an option parser takes for
/// an option: id arguments are collected as unrecognized words and checked here, so that such
/// an id needs no `--`. The usage lines of the commands that take one say `<id>`, not the
/// array's `<ids> ...`.
enum ImageIDArgument {
    static let help = ArgumentHelp("The image id (one).", valueName: "id")

    /// How `shielded` spells an id that begins with `-`.
    static let shieldPrefix = "--id="

    static func single(_ words: [String]) throws -> String {
        let words = withoutSeparator(words)
        guard words.count == 1, let word = words.first else { throw ValidationError("name exactly one image id") }
        return try id(word)
    }

    /// The ids of collected words, checked.
    static func ids(_ words: [String]) throws -> [String] {
        try withoutSeparator(words).map(id)
    }

    /// The words without `--`, which the parser collects with them: `info -- ID`, the
    /// usual way to end options before an operand, was "name exactly one image id".
    static func withoutSeparator(_ words: [String]) -> [String] {
        words.filter { $0 != "--" }
    }

    /// The id a collected word names. A word that is no id and begins with `-` is an option
    /// the command does not take (`rm --signing-key=…`): named without its value, which may
    /// be a key or a URL with a password.
    static func id(_ word: String) throws -> String {
        let id = word.hasPrefix(shieldPrefix) ? String(word.dropFirst(shieldPrefix.count)) : word
        guard ImageID(id) != nil else {
            if id.hasPrefix("-") { throw ValidationError("\(id.prefix { $0 != "=" }) is neither an option of this command nor an image id") }
            throw ValidationError("\(id) is not an image id")
        }
        return id
    }

    /// The command line with every word that is an id beginning with one `-`, or with three
    /// or more, spelled `--id=…`, up to a `--`. Unrecognized, a single-dash word had still
    /// been read as a pack of short options: an `o` in it was `get`'s `-o` without its value
    /// (exit 64 for about one id in 300; an audit of the tests found it); and the parser
    /// refuses any word with three leading dashes outright. A word with exactly two is an
    /// unknown long option, collected as it is (and `--generate-completion-script` is one).
    /// No option's value can be such a word (the parser takes a word beginning with `-` for
    /// an option, not a value), so nothing else is rewritten.
    ///
    /// For `upload`, a word beginning with one `-` (not `-` alone, not `-h`) that names an
    /// existing file is that file, spelled `./…`: read as a pack of short options,
    /// `-photo.jpg` held `-h`, and `upload *.jpg` in a folder with such a file printed the
    /// help, uploaded nothing and exited 0 (a black-box tester).
    static func shielded(_ arguments: [String], fileExists: (String) -> Bool = Files.exists) -> [String] {
        var rewriting = true
        let uploads = arguments.first == "upload"
        return arguments.enumerated().map { index, word in
            if word == "--" { rewriting = false }
            let twoDashes = word.hasPrefix("--") && !word.hasPrefix("---")
            guard rewriting, word.hasPrefix("-"), !twoDashes else { return word }
            if uploads, index > 0, word != "-", word != "-h", fileExists(word) { return "./" + word }
            guard ImageID(word) != nil else { return word }
            return shieldPrefix + word
        }
    }
}
