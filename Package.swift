// swift-tools-version:6.0
import PackageDescription

/// Layers point one way: C modules → thin Swift wrappers (the only code that sees
/// unsafe pointers) → ProgimageCore (pixels, storage) → ProgimageServer (FastCGI
/// handlers) → executables. ProgimageAPI is the shared vocabulary and imports no C.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

func systemLibrary(_ name: String, _ pkgConfig: String, apt: [String]) -> Target {
    .systemLibrary(name: name, pkgConfig: pkgConfig, providers: [.apt(apt)])
}

let package = Package(
    name: "progimage",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "progimage-fcgi", targets: ["progimage-fcgi"]),
        .executable(name: "progimage-dev", targets: ["progimage-dev"]),
        .executable(name: "progimage", targets: ["progimage"]),
        .library(name: "ProgimageClient", targets: ["ProgimageClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        systemLibrary("CFastCGI", "fcgi", apt: ["libfcgi-dev"]),
        systemLibrary("CGD", "gdlib", apt: ["libgd-dev"]),
        systemLibrary("CSQLite", "sqlite3", apt: ["libsqlite3-dev"]),
        systemLibrary("CHeif", "libheif", apt: ["libheif-dev"]),
        systemLibrary("CWebP", "libwebpdemux", apt: ["libwebp-dev"]),
        systemLibrary("CTurboJPEG", "libturbojpeg", apt: ["libturbojpeg0-dev"]),
        systemLibrary("CCrypto", "libcrypto", apt: ["libssl-dev"]),
        systemLibrary("CCurl", "libcurl", apt: ["libcurl4-openssl-dev"]),
        systemLibrary("CLittleCMS", "lcms2", apt: ["liblcms2-dev"]),
        systemLibrary("CZlib", "zlib", apt: ["zlib1g-dev"]),
        systemLibrary("CPostgres", "libpq", apt: ["libpq-dev"]),
        systemLibrary("CDeflate", "libdeflate", apt: ["libdeflate-dev"]),
        systemLibrary("CJXL", "libjxl", apt: ["libjxl-dev"]),
        .systemLibrary(name: "CMalloc"),
        .systemLibrary(name: "CProcessControl"),
        // libjpeg's API longjmps on errors, which Swift cannot survive: a few lines of C
        // keep every libjpeg call inside a function that set its own jump buffer.
        .target(name: "CJPEG", linkerSettings: [.linkedLibrary("jpeg")]),
        // libtiff reads from memory only through callbacks, which are C function pointers.
        .target(name: "CTIFF", linkerSettings: [.linkedLibrary("tiff")]),
        // libpng longjmps on errors too (the PNGs PNGReader leaves to it, read to 8-bit RGBA).
        .target(name: "CPNG", linkerSettings: [.linkedLibrary("png16")]),

        .target(name: "FastCGI", dependencies: ["CFastCGI"], swiftSettings: swiftSettings),
        // GD hands its rows to libjpeg directly (GDImage+JPEG): no copy into one buffer.
        .target(name: "GD", dependencies: ["CGD", "CJPEG"], swiftSettings: swiftSettings),
        .target(name: "HEIF", dependencies: ["CHeif"], swiftSettings: swiftSettings),
        .target(name: "WebP", dependencies: ["CWebP"], swiftSettings: swiftSettings),
        .target(name: "TurboJPEG", dependencies: ["CTurboJPEG"], swiftSettings: swiftSettings),
        .target(name: "JPEG", dependencies: ["CJPEG"], swiftSettings: swiftSettings),
        .target(name: "LittleCMS", dependencies: ["CLittleCMS"], swiftSettings: swiftSettings),
        .target(name: "Zlib", dependencies: ["CZlib"], swiftSettings: swiftSettings),
        .target(name: "Deflate", dependencies: ["CDeflate"], swiftSettings: swiftSettings),
        .target(name: "PNG", dependencies: ["Deflate", "CPNG"], swiftSettings: swiftSettings),
        .target(name: "JXL", dependencies: ["CJXL"], swiftSettings: swiftSettings),
        .target(name: "Malloc", dependencies: ["CMalloc"], swiftSettings: swiftSettings),
        .target(name: "LibFuzzer", swiftSettings: swiftSettings),
        .target(name: "TIFF", dependencies: ["CTIFF", "Deflate"], swiftSettings: swiftSettings),
        .target(name: "SQLite", dependencies: ["CSQLite"], swiftSettings: swiftSettings),
        .target(name: "PostgreSQL", dependencies: ["CPostgres"], swiftSettings: swiftSettings),
        .target(name: "ObjectStorage", dependencies: ["HTTPFetch", "Digest"], swiftSettings: swiftSettings),
        .target(name: "Digest", dependencies: ["CCrypto"], swiftSettings: swiftSettings),
        .target(name: "HTTPFetch", dependencies: ["CCurl"], swiftSettings: swiftSettings),
        // Files, descriptors, sockets, processes: the only place above libc that handles
        // its pointers and `errno` (the service and the supervisor share it).
        .target(name: "POSIX", dependencies: ["CProcessControl"], swiftSettings: swiftSettings),

        .target(name: "ProgimageAPI", swiftSettings: swiftSettings),
        // The `PROGIMAGE_*` configuration and the nginx sites and units derived from it:
        // what the supervisor needs, without the codecs, the stores and their C libraries.
        .target(name: "ProgimageDeployment", dependencies: ["ProgimageAPI", "PostgreSQL"], swiftSettings: swiftSettings),
        .target(
            name: "ProgimageCore",
            dependencies: [
                "ProgimageAPI", "ProgimageDeployment", "GD", "HEIF", "WebP", "JPEG", "TIFF", "LittleCMS", "Zlib", "Deflate", "PNG", "JXL",
                "SQLite",
                "PostgreSQL", "ObjectStorage", "Digest", "HTTPFetch", "Malloc", "POSIX",
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "ProgimageServer",
            dependencies: [
                "ProgimageAPI", "ProgimageDeployment", "ProgimageCore", "FastCGI", "Digest", "ObjectStorage",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "progimage-fcgi",
            dependencies: ["ProgimageServer", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings),
        // Clients sit beside the server and share only the API vocabulary (and the HMAC).
        .target(name: "ProgimageClient", dependencies: ["ProgimageAPI", "Digest", "HTTPFetch"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "progimage",
            dependencies: [
                "ProgimageClient", "ProgimageAPI", "POSIX", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "progimage-dev",
            dependencies: [
                "ProgimageAPI", "ProgimageDeployment", "POSIX", .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings),

        // `make fuzz`: libFuzzer over every decoder (a file replayer when built plainly).
        .executableTarget(
            name: "progimage-fuzz", dependencies: ["GD", "JPEG", "LibFuzzer", "Malloc", "PNG", "ProgimageAPI", "ProgimageCore"],
            swiftSettings: swiftSettings),

        // `make bench`'s in-process breakdown of the worker's thumbnail path.
        .executableTarget(
            name: "progimage-bench", dependencies: ["ProgimageAPI", "ProgimageDeployment", "ProgimageCore", "GD", "JPEG"],
            swiftSettings: swiftSettings),

        .testTarget(name: "ProgimageAPITests", dependencies: ["ProgimageAPI"], swiftSettings: swiftSettings),
        .testTarget(name: "POSIXTests", dependencies: ["POSIX"], swiftSettings: swiftSettings),
        .testTarget(name: "FastCGITests", dependencies: ["FastCGI"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ProgimageCoreTests",
            // TurboJPEG is the tests' reference for our libjpeg encoder and their maker of
            // 4:4:4 and 4:2:2 files.
            dependencies: [
                "ProgimageCore", "ProgimageDeployment", "ProgimageAPI", "SQLite", "ObjectStorage", "Digest", "TurboJPEG",
            ],
            // Read by path, like the corpus: fixture files and the script that made them.
            exclude: ["Fixtures"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ProgimageClientTests", dependencies: ["ProgimageClient", "ProgimageAPI", "ProgimageCore"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ProgimageServerTests", dependencies: ["ProgimageServer", "ProgimageCore", "ProgimageAPI"],
            swiftSettings: swiftSettings),
    ]
)
