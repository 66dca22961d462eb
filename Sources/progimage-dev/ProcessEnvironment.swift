import ProgimageDeployment
import POSIX


/// The supervisor's own environment, read once at start.
///
/// Children get it unchanged plus their own variables, because `make run` promises that
/// every `PROGIMAGE_*` variable reaches the instances.
struct ProcessEnvironment: Sendable {
    /// `NAME=value` entries in the order the kernel gave them.
    let entries: [String]

    static func current() -> ProcessEnvironment {
        ProcessEnvironment(entries: EnvironmentVariables.current())
    }

    /// The `PROGIMAGE_*` settings, or nil after printing why they do not parse (the caller
    /// exits 2, a configuration error).
    func serviceConfiguration() -> ServiceConfiguration? {
        do {
            return try ServiceConfiguration(environment: dictionary)
        } catch {
            StandardStreams.error(error.description)
            return nil
        }
    }

    var dictionary: [String: String] {
        var values: [String: String] = [:]
        for entry in entries {
            guard let equals = entry.firstIndex(of: "=") else { continue }
            values[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
        }
        return values
    }

    subscript(name: String) -> String? {
        let prefix = name + "="
        return entries.last(where: { $0.hasPrefix(prefix) }).map { String($0.dropFirst(prefix.count)) }
    }

    /// A copy with `overrides` set and `removed` gone. systemd's `LISTEN_FDS`/`LISTEN_PID`
    /// are always dropped: a worker that saw them would look for its socket on fd 3
    /// instead of the fd 0 we give it.
    func with(_ overrides: [String: String], removing removed: Set<String> = []) -> [String] {
        let dropped = removed.union(overrides.keys).union(["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"])
        let kept = entries.filter { entry in
            let name = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? entry
            return !dropped.contains(name)
        }
        return kept + overrides.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" }
    }
}
