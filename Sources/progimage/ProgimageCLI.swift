import ArgumentParser
import Foundation
import ProgimageClient

/// `progimage`: the service from a shell.
@main
struct ProgimageCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "progimage",
        abstract: "Upload images to a progimage service and ask for them in any format and size.",
        discussion: """
            The server is --server, else PROGIMAGE_URL, else http://127.0.0.1:8080; the API key \
            --api-key, else PROGIMAGE_API_KEY; the signing key --signing-key, else PROGIMAGE_SIGNING_KEY.

            Exit codes: 0 success; 64 usage error (including operations that do not parse); \
            2 not found; 3 input refused by the service (a bad image, operation, key or signature); \
            4 service unavailable (no answer, or a 5xx); 1 anything else. Errors print the \
            service's message on standard error.
            """,
        subcommands: [Upload.self, Info.self, List.self, Remove.self, Get.self, Link.self, UploadLink.self])

    static func main() async {
        // An argument that is not UTF-8 (a file name, mostly) reaches `CommandLine.arguments`
        // with U+FFFD for each bad byte: the upload read, and `get -o` wrote, another file of
        // that spelling and said nothing (a black-box tester). Such a name cannot be spelt
        // through Foundation's paths at all: refused, nothing sent or written.
        for index in 1..<max(1, Int(CommandLine.argc)) {
            guard let raw = CommandLine.unsafeArgv[index], String(validatingCString: raw) == nil else { continue }
            FileHandle.standardError.write(Data("progimage: argument \(index) is not valid UTF-8; rename the file or pass it on standard input\n".utf8))
            Foundation.exit(1)
        }
        // So is a PROGIMAGE_* variable: a key or a server so read would be another one.
        var cursor = environ
        while let entry = cursor.pointee {
            cursor += 1
            guard strncmp(entry, "PROGIMAGE_", 10) == 0, String(validatingCString: entry) == nil else { continue }
            let name = String(decoding: UnsafeRawBufferPointer(start: entry, count: strcspn(entry, "=")), as: UTF8.self)
            FileHandle.standardError.write(Data("progimage: \(name) is not valid UTF-8\n".utf8))
            Foundation.exit(1)
        }
        await main(ImageIDArgument.shielded(Array(CommandLine.arguments.dropFirst())))
    }
}

/// Where the service is and how to authenticate, shared by every command.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "The service's base URL (default: PROGIMAGE_URL, else http://127.0.0.1:8080).")
    var server: String?

    @Option(name: .customLong("api-key"), help: "Bearer key for uploads and deletes (default: PROGIMAGE_API_KEY).")
    var apiKey: String?

    func client(signingKey: String? = nil) throws -> ProgimageClient {
        let environment = ProcessInfo.processInfo.environment
        let text = server ?? environment["PROGIMAGE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://127.0.0.1:8080"
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased()), url.host?.isEmpty == false,
            (1...65535).contains(url.port ?? 80),
            // A base URL has no query or fragment, and an `@` only before its host: a password
            // holding `#` or `/` made the rest a fragment or a path, printed with errors.
            url.query == nil, url.fragment == nil, !url.path.contains("@")
        else {
            throw ValidationError("--server \(ProgimageClient.withoutUserInfo(text)): expected http(s)://host[:port]")
        }
        let key = apiKey ?? environment["PROGIMAGE_API_KEY"]
        let signing = signingKey ?? environment["PROGIMAGE_SIGNING_KEY"]
        // A header cannot hold a line break: such a key was dropped on the way, and the
        // service answered a bare 401. Named, not shown.
        if key?.contains(where: \.isNewline) == true { throw ValidationError("the API key holds a line break") }
        // A signature made with it matches no key the service can hold (it refuses one with
        // a line break): every URL was a 403 (`PROGIMAGE_SIGNING_KEY=$(cat file)` keeps none,
        // `$'key\n'` does; a black-box tester).
        if signing?.contains(where: \.isNewline) == true { throw ValidationError("the signing key holds a line break") }
        return ProgimageClient(
            baseURL: url, apiKey: key?.isEmpty == false ? key : nil, signingKey: signing?.isEmpty == false ? signing : nil)
    }
}

/// What `--ops` and `--format` name, checked before anything is sent.
struct ImageSelection: ParsableArguments {
    @Option(help: "Operations, as in a URL: \"crop:0,0,800,800/resize:200x200\".")
    var ops: String = ""

    @Option(help: "Output format: jpg, png, gif, webp, bmp, tiff, avif, heic or jxl; or auto (the service picks from Accept).")
    var format: String

    func link(id: String) throws -> ImageLink {
        let isAuto = format.lowercased() == "auto" || format.lowercased() == ".auto"
        guard isAuto || ImageFormatName.parse(format) != nil else { throw ValidationError("--format \(format): unknown format") }
        do {
            if isAuto { return try ImageLink.auto(id: id, operations: ops) }
            return try ImageLink(id: id, operations: ops, format: ImageFormatName.parse(format)!)
        } catch {
            throw ValidationError(error.description)
        }
    }
}
