import POSIX
#if canImport(Glibc)
import Glibc
#endif

/// How the supervisor runs nginx in development: in the foreground (`daemon off;` in the
/// generated config) with its prefix, config, pid file, logs and temp paths all inside the
/// run directory, so nothing touches /etc/nginx or /var/log.
struct NginxLauncher: Sendable {
    let executable: String
    let runDirectory: String
    let environment: [String]

    var configPath: String { runDirectory + "/nginx.conf" }
    var errorLogPath: String { runDirectory + "/error.log" }

    /// `-e` matters: without it nginx opens its compiled-in error log (/var/log/nginx) before
    /// reading the config, which fails for a non-root user.
    var arguments: [String] {
        ["-p", runDirectory + "/", "-c", configPath, "-e", errorLogPath]
    }

    var request: SpawnRequest {
        SpawnRequest(executable: executable, arguments: arguments, environment: environment, input: .null)
    }

    /// Where nginx packages keep the stock `fastcgi_params` (Debian's first).
    static let stockConfigDirectories = ["/etc/nginx", "/usr/local/nginx/conf", "/usr/local/etc/nginx"]

    /// Copies the stock `fastcgi_params` into the run directory. The shared site template
    /// says `include fastcgi_params;`, which nginx resolves against the directory of the
    /// main config file: /etc/nginx in production, the run directory here. Without the
    /// include the workers would see no REQUEST_METHOD or DOCUMENT_URI (seen with nginx 1.22).
    func installIncludes() throws(SupervisorError) {
        let name = "fastcgi_params"
        for directory in Self.stockConfigDirectories {
            guard let contents = try? Files.read(directory + "/" + name) else { continue }
            try systemCall { () throws(SystemCallError) in try Files.write(contents, to: runDirectory + "/" + name) }
            return
        }
        throw .fileNotFound(name, hint: "no stock nginx \(name) in \(Self.stockConfigDirectories.joined(separator: ", "))")
    }

    /// Runs `nginx -t` with the same arguments; a rejected config stops start-up with
    /// nginx's own explanation instead of a crash loop.
    /// Called before any supervised child exists, so waiting for this pid alone is safe.
    func testConfiguration() throws(SupervisorError) {
        // Close-on-exec: the child gets the write end only through its dup2 onto fds 1 and 2.
        let pipe = try systemCall { () throws(SystemCallError) in try Pipe.make() }
        var test = request
        test.arguments = ["-t", "-q"] + arguments
        test.output = pipe.write
        let pid: Int32
        do {
            pid = try ProcessSpawner.spawn(test)
        } catch {
            close(pipe.read)
            close(pipe.write)
            throw SupervisorError(error)
        }
        close(pipe.write)
        let output = String(decoding: (try? FileDescriptorIO.readAll(pipe.read)) ?? [], as: UTF8.self)
        close(pipe.read)
        let status = ChildExit.wait(for: pid)
        guard ExitStatus(waitStatus: status).isClean else {
            throw .nginxConfigRejected(output: output.isEmpty ? "(no output; see \(errorLogPath))" : output)
        }
    }
}
