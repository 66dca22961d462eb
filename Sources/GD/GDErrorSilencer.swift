internal import CGD

/// libgd prints decoder complaints to stderr by default; for a server that turns every
/// failure into a JSON error, those lines are noise in the request log.
/// `gdSetErrorMethod` is process-global, so it is installed once.
enum GDErrorSilencer {
    private static let installed: Bool = {
        gdSetErrorMethod { _, _, _ in }
        return true
    }()

    static func install() { _ = installed }
}
