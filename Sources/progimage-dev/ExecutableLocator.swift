import POSIX
#if canImport(Glibc)
import Glibc
#endif

/// Finds the programs the supervisor starts.
enum ExecutableLocator {
    /// The directory of the running executable, via /proc/self/exe: the worker binary is
    /// built next to us, whatever the current directory or `argv[0]` says.
    static func ownDirectory() throws(SupervisorError) -> String {
        directory(of: try systemCall { () throws(SystemCallError) in try RunningExecutable.path() })
    }

    /// The FastCGI worker: `PROGIMAGE_WORKER_BINARY`, else `progimage-fcgi` beside us.
    static func worker(environment: ProcessEnvironment) throws(SupervisorError) -> String {
        if let override = environment["PROGIMAGE_WORKER_BINARY"], !override.isEmpty {
            guard isExecutable(override) else {
                throw .executableNotFound(override, hint: "PROGIMAGE_WORKER_BINARY does not name an executable file")
            }
            return override
        }
        let path = try ownDirectory() + "/progimage-fcgi"
        guard isExecutable(path) else {
            throw .executableNotFound(path, hint: "build it with `swift build --product progimage-fcgi`, or set PROGIMAGE_WORKER_BINARY")
        }
        return path
    }

    /// nginx: `PROGIMAGE_NGINX`, else the first `nginx` in PATH, else /usr/sbin/nginx
    /// (Debian's place, often missing from a non-root user's PATH).
    static func nginx(environment: ProcessEnvironment) throws(SupervisorError) -> String {
        if let override = environment["PROGIMAGE_NGINX"], !override.isEmpty {
            guard isExecutable(override) else {
                throw .executableNotFound(override, hint: "PROGIMAGE_NGINX does not name an executable file")
            }
            return override
        }
        let searchPath = (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        for directory in searchPath + ["/usr/sbin", "/usr/local/sbin"] where !directory.isEmpty {
            let candidate = directory + "/nginx"
            if isExecutable(candidate) { return candidate }
        }
        throw .executableNotFound("nginx", hint: "install it (apt-get install nginx-light) or set PROGIMAGE_NGINX")
    }

    static func isExecutable(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFREG && access(path, X_OK) == 0
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
