import Dispatch
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

@testable import POSIX

/// The one POSIX layer under the service and the supervisor, on a real filesystem.
@Suite struct FilesTests {
    static func scratch() throws -> String {
        try Files.makeTemporaryDirectory(template: "/tmp/progimage-posix-XXXXXX")
    }

    @Test func writeAtomicallyThenReadGivesTheSameBytes() throws {
        let root = try Self.scratch()
        defer { Files.removeTree(root) }
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try Files.writeAtomically(bytes, to: root + "/a/b/file", temporaryDirectory: root + "/tmp", durable: true)
        #expect(try Files.read(root + "/a/b/file") == bytes)
        // The temporary file was renamed away: nothing is left beside it.
        #expect(Files.entries(in: root + "/tmp") == [])
    }

    /// A writer killed mid-write leaves its temporary file; the next start removes it, and
    /// only it: a running writer's file and names of other shapes stay.
    @Test func leftoversOfStoppedWritersAreRemoved() throws {
        let root = try Self.scratch()
        defer { Files.removeTree(root) }
        var child: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
        defer { free(argv[0]) }
        #expect(posix_spawn(&child, "/bin/true", nil, nil, &argv, nil) == 0)
        var status: Int32 = 0
        waitpid(child, &status, 0)  // reaped: its pid names no process now
        let names = ["tmp-\(child)-aB3dE9", "tmp-\(getpid())-Zz0yY1", "tmp-x1Y2z3", "notes"]
        for name in names { try Files.write(Array("partial".utf8), to: "\(root)/\(name)") }
        #expect(Files.removeLeftovers(in: root) == 1)
        #expect(Set((Files.entries(in: root) ?? []).map(\.name)) == Set(names.dropFirst()))
    }

    @Test func makeDirectoriesRefusesAFileInTheWay() throws {
        let root = try Self.scratch()
        defer { Files.removeTree(root) }
        try Files.write(Array("x".utf8), to: root + "/file")
        #expect(throws: SystemCallError.self) { try Files.makeDirectories(root + "/file") }
        #expect(throws: SystemCallError.self) { try Files.makeDirectories(root + "/file/below") }
        try Files.makeDirectories(root + "/one/two/three")
        #expect(Files.isDirectory(root + "/one/two/three"))
    }

    /// A directory renamed away while `makeDirectories` makes it (a derived image's folder
    /// moved by its delete while a render writes there) is "missing", which the cache takes
    /// for a vanished folder; it had been "not a directory", which a render answered 500.
    @Test func aDirectoryVanishingAsItIsMadeIsMissing() throws {
        let root = try Self.scratch()
        defer { Files.removeTree(root) }
        let target = root + "/shard/image"
        let stop = Atomic(false)
        let moved = Atomic(0)
        let mover = DispatchGroup()
        // A queue of its own: those start a thread even when every core is busy, where the
        // global queue's threads were all taken by the other tests running in parallel and
        // the mover never ran (a fresh-clone run: 0 moves, then a 182-s wait).
        DispatchQueue(label: "progimage.test.mover").async(group: mover) {
            while !stop.load(ordering: .relaxed) {
                if rename(target, "\(root)/gone") == 0 { moved.add(1, ordering: .relaxed) }
                rmdir("\(root)/gone")
            }
        }
        var other: [String] = []
        var missing = 0
        // At least a second and a thousand moves (at most ten seconds).
        let started = ContinuousClock.now
        func racing() -> Bool {
            let elapsed = ContinuousClock.now - started
            return elapsed < .seconds(1) || (moved.load(ordering: .relaxed) < 1000 && elapsed < .seconds(10))
        }
        while racing() {
            do {
                try Files.makeDirectories(target)
            } catch {
                if error.isMissing { missing += 1 } else { other.append(error.description) }
            }
        }
        stop.store(true, ordering: .relaxed)
        mover.wait()
        #expect(moved.load(ordering: .relaxed) > 0)
        #expect(other.isEmpty, "\(other.count) failures other than ENOENT (\(missing) ENOENT), first \(other.prefix(2))")
    }

    /// The check's exclusive hold: it runs with nothing to hold when no writer ever made
    /// the lock file, gives up while a shared holder keeps it, and runs once it is free.
    @Test func anExclusiveHoldWaitsForSharedHoldersAndNeverMakesTheFile() throws {
        let root = try Self.scratch()
        defer { Files.removeTree(root) }
        let path = root + "/.in-flight"
        #expect(FileLock.holdingExclusively(ifPresent: path, trying: 10) { 1 } == 1)
        #expect(!Files.exists(path))
        FileLock.holding(path, .shared) { fd in
            #expect(fd != nil)
            #expect(FileLock.holdingExclusively(ifPresent: path, trying: 30) { 2 } == nil)
        }
        #expect(FileLock.holdingExclusively(ifPresent: path, trying: 10) { 3 } == 3)
    }

    @Test func missingFilesSayMissing() throws {
        let failure = #expect(throws: SystemCallError.self) { try Files.read("/nonexistent/progimage") }
        #expect(failure?.isMissing == true)
        #expect(failure?.description.contains("No such file") == true)
        try Files.remove("/nonexistent/progimage")  // a missing file is removed already
    }

    @Test func removeTreeNeverFollowsALink() throws {
        let root = try Self.scratch()
        let outside = try Self.scratch()
        defer {
            Files.removeTree(root)
            Files.removeTree(outside)
        }
        try Files.write(Array("keep".utf8), to: outside + "/kept")
        try Files.makeDirectories(root + "/sub")
        #expect(symlinkForTest(outside, root + "/sub/link") == 0)
        Files.removeTree(root)
        #expect(!Files.exists(root))
        #expect(try Files.read(outside + "/kept") == Array("keep".utf8))
    }

    @Test func appendsAccumulateAndTailReadsTheEnd() throws {
        let root = try Self.scratch()
        defer { Files.removeTree(root) }
        for line in ["one\n", "two\n", "three\n"] { try Files.append(Array(line.utf8), to: root + "/log") }
        #expect(try Files.read(root + "/log") == Array("one\ntwo\nthree\n".utf8))
        #expect(Files.tail(of: root + "/log", limit: 6) == "three\n")
    }

    @Test func aLockIsHeldAndAChildIsWaitedFor() throws {
        let root = try Self.scratch()
        defer { Files.removeTree(root) }
        let value = FileLock.holding(root + "/lock") { fd in fd == nil ? -1 : 7 }
        #expect(value == 7)
        let pid = try ProcessSpawner.spawn(
            SpawnRequest(executable: "/bin/sh", arguments: ["-c", "exit 3"], environment: [], input: .null))
        let status = ChildExit.wait(for: pid)
        #expect((status >> 8) & 0xFF == 3)
        #expect(throws: SystemCallError.self) {
            try ProcessSpawner.spawn(SpawnRequest(executable: "/nonexistent", arguments: [], environment: [], input: .null))
        }
    }
}
