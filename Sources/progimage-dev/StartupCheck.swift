import POSIX

/// `progimage-fcgi check` once before the stack starts: deletes other boxes made while this
/// one was down are applied before nginx can serve their files, and orphans a crash left
/// (an original without its record, temp files, cache of deleted images) are reported in
/// the log, where a developer sees them; nothing is repaired without being asked (`--repair`).
enum StartupCheck {
    static func run(worker: String, environment: ProcessEnvironment) {
        // Before any supervised child exists, so waiting for this pid alone is safe.
        let request = SpawnRequest(executable: worker, arguments: ["check", "--at-start"], environment: environment.with([:]), input: .null, output: 2)
        guard let pid = try? ProcessSpawner.spawn(request) else { return }
        _ = ChildExit.wait(for: pid)
    }
}
