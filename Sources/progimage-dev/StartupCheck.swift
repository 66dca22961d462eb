#if canImport(Glibc)
import Glibc
#endif

/// `progimage-fcgi check` once before the stack starts: orphans a crash left (an original
/// without its record, temp files, cache of deleted images) are reported in the log, where
/// a developer sees them; nothing is repaired without being asked (`--repair`).
enum StartupCheck {
    static func run(worker: String, environment: ProcessEnvironment) {
        // Before any supervised child exists, so waiting for this pid alone is safe.
        let request = SpawnRequest(executable: worker, arguments: ["check"], environment: environment.with([:]), input: .null, output: 2)
        guard let pid = try? ProcessSpawner.spawn(request) else { return }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }
}
