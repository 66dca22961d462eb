import Dispatch
import ProgimageDeployment
import POSIX
public import ProgimageAPI
#if canImport(Glibc)
import Glibc
#endif

/// Derived files (conversions and transforms) under `PROGIMAGE_CACHE_DIR`, at exactly the
/// path nginx serves them from (NginxSiteTemplate):
/// `{root}/{id[0..2]}/{id[2..4]}/{id}/{id}.{ext}` for a conversion and
/// `{root}/{id[0..2]}/{id[2..4]}/{id}/{op}/…/{op}.{ext}` for a transform.
/// One directory per id makes deleting every derived file of an image one rename.
/// Everything here is disposable: wipe the directory and it regenerates on demand.
public struct DerivedImageCache: Sendable {
    /// Folders of the cache root that hold no derived file of their own: where files are
    /// written before their rename, where deleted images wait to be removed, and the lock
    /// files (`CachePruner` must never touch those).
    static let temporaryFolder = ".tmp"
    static let trashFolder = ".trash"
    static let locksFolder = ".locks"
    /// Under `locksFolder`: one lock file a derived path being made (`withLock`).
    static let pathLocksFolder = "paths"
    /// Each instance's request counters and nginx's HIT/MISS log (`ServiceMetrics`).
    public static let metricsFolder = ServiceConfiguration.metricsFolder
    /// Per overlay image, the derived files made with it (deleting it removes them).
    static let overlaysFolder = ".overlays"

    public let root: String
    /// Keeps the cache within its byte budget as files are written (nil: no budget).
    public let budget: CacheBudget?

    public init(root: String, budget: CacheBudget? = nil) {
        self.root = root
        self.budget = budget
    }

    /// The preset definitions the cache's files were made under (`PresetCachePurge`),
    /// rewritten only when they change.
    var presetDefinitionsPath: String { root + "/" + Self.locksFolder + "/presets" }

    /// One empty file a preset, dated when its definition (other presets expanded) last
    /// changed or first appeared (`PresetCachePurge`).
    func presetDatePath(_ name: String) -> String { root + "/" + Self.locksFolder + "/preset-dates/" + name }

    /// When preset `name`'s definition last changed, nil when no date was kept for it.
    public func presetChangedAt(_ name: String) -> Int? { Files.modificationTime(of: presetDatePath(name)) }

    func directory(of id: ImageID) -> String {
        let (first, second) = id.shards
        return "\(root)/\(first)/\(second)/\(id)"
    }

    /// The file for `chain` of image `id`: the chain's canonical text is the path.
    public func path(id: ImageID, chain: OperationChain) -> String {
        let suffix = chain.canonicalPath
        return directory(of: id) + (suffix.hasPrefix("/") ? suffix : "/\(id)\(suffix)")
    }

    /// What became of a derived file handed to `store`.
    public enum StoreOutcome: Sendable, Equatable {
        /// On disk, where nginx serves it.
        case kept
        /// No room (the budget, or a full disk): not kept, an eviction starts, and the
        /// caller answers with the bytes themselves.
        case noRoom
        /// A folder on its path vanished between the write's `mkdir` and its `rename`
        /// (ENOENT): the image's delete moved its folder away, or `CachePruner` removed
        /// the folder while it was still empty. Only the caller can tell which, from the
        /// image's record.
        case folderVanished
    }

    /// Writes a derived file so nginx never sees it half-written. nginx then serves it, to
    /// the request that made it as to every later one, with its own ETag.
    /// `lastModified` (seconds since the epoch) is the file's mtime: nginx's `Last-Modified`
    /// and `ETag` (see `DerivedImageRenderer.lastModified(of:chain:)`).
    public func store(_ bytes: [UInt8], at path: String, lastModified: Int? = nil) throws(ServiceError) -> StoreOutcome {
        let newFolders = budget == nil ? 0 : missingFolders(above: path)
        if let budget, !budget.reserve(bytes: bytes.count, newFolders: newFolders) { return .noRoom }
        do {
            try Files.writeAtomically(
                bytes, to: path, temporaryDirectory: root + "/" + Self.temporaryFolder, durable: false, modificationTime: lastModified)
        } catch {
            budget?.release(bytes: bytes.count, newFolders: newFolders)
            if error.isMissing { return .folderVanished }
            guard error.isNoSpace else { throw ServiceError(.internalError, error.description) }
            budget?.diskIsFull()
            return .noRoom
        }
        budget?.landed(bytes: bytes.count, newFolders: newFolders)
        Self.rearmReadTimeAfterItsFirstSend(path)
        return .kept
    }

    /// Re-arms relatime on a new file once nginx has sent it for the request that made it:
    /// that first read spends the one atime update relatime allows until ctime moves, so
    /// every later read went unrecorded until the next eviction pass re-armed it, and a
    /// pass that came first evicted files read ever since before files never read again
    /// (a black-box probe: 3 of 3 hot files gone, 7 cold ones kept). At 2 s (nginx opens the
    /// file within milliseconds of the answer) and again at 60 s: a send to a slow client
    /// reads on, chunk by chunk, and may spend the update again; rearming costs nothing.
    static func rearmReadTimeAfterItsFirstSend(_ path: String) {
        for delay in [2, 60] {
            DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + .seconds(delay)) {
                CachePruner.rearmReadTime(path)
            }
        }
    }

    /// A file already made (by another request that won the race).
    public func contains(_ path: String) -> Bool {
        Files.exists(path)
    }

    /// Removes every derived file of `id`: the directory is renamed out of nginx's sight
    /// first (atomic), then deleted at leisure. The trash is swept for `id` too: a render's
    /// `rename` into the folder that resolved the path before the folder moved puts its
    /// file in the trashed folder after this removal listed it (the folder then stays, its
    /// `rmdir` refused), and that render, finding the record gone, comes here once its file
    /// is in place (a helper found such folders after 5 of 24 delete-race runs).
    public func removeAll(of id: ImageID) {
        let source = directory(of: id)
        let trash = root + "/" + Self.trashFolder
        if Files.exists(source) {
            try? Files.makeDirectories(trash)
            let target = "\(trash)/\(Self.trashName(of: id))"
            let moved = rename(source, target) == 0
            // Out of the counter now: it said the files were there until the next pass.
            budget?.forget(bytes: Self.bytesOnDisk(of: moved ? target : source))
            Files.removeTree(moved ? target : source)
        }
        for entry in Files.entries(in: trash) ?? [] where Self.isTrashName(entry.name, of: id) {
            Files.removeTree("\(trash)/\(entry.name)")
        }
    }

    /// Removes every image's derived files (the shard folders; the cache's own folders
    /// stay), each renamed out of nginx's sight first, as `removeAll(of:)` does.
    public func removeEveryImage() {
        let trash = root + "/" + Self.trashFolder
        try? Files.makeDirectories(trash)
        for entry in Files.entries(in: root) ?? [] where !entry.name.hasPrefix(".") {
            let source = root + "/" + entry.name
            let target = "\(trash)/\(entry.name)-\(getpid())"
            let moved = rename(source, target) == 0
            budget?.forget(bytes: Self.bytesOnDisk(of: moved ? target : source))
            Files.removeTree(moved ? target : source)
        }
    }

    /// What the folder at `path` takes on disk with everything in it, folders included, as
    /// the budget counts them.
    static func bytesOnDisk(of path: String) -> Int {
        // lstat, not an entry's type: some filesystems do not say it (DT_UNKNOWN).
        var status = stat()
        guard lstat(path, &status) == 0 else { return 0 }
        var total = Int(status.st_blocks) * 512
        guard status.st_mode & S_IFMT == S_IFDIR else { return total }
        for entry in Files.entries(in: path) ?? [] { total += bytesOnDisk(of: path + "/" + entry.name) }
        return total
    }

    /// The name `id`'s folder takes in the trash: unique, so that a second removal of the
    /// same id (a render that found the record gone) never meets a folder still being removed.
    static func trashName(of id: ImageID) -> String {
        "\(id)-\(ImageID.random())"
    }

    /// Whether `name` is one of `trashName(of: id)`'s: `{id}-` and a minted id's length
    /// exactly, since ids may hold `-` and a prefix alone could be another image's.
    static func isTrashName(_ name: String, of id: ImageID) -> Bool {
        name.utf8.count == id.rawValue.utf8.count + 1 + ImageID.mintedLength && name.hasPrefix("\(id)-")
    }

    /// How many folders between the root and `path`'s own do not exist yet: the write
    /// creates them, and the budget counts their blocks (the next pass measures them).
    func missingFolders(above path: String) -> Int {
        var missing = 0
        var folder = Files.parent(of: path)
        while folder.count > root.count, access(folder, F_OK) != 0 {
            missing += 1
            folder = Files.parent(of: folder)
        }
        return missing
    }

    /// Serializes work on one derived path across threads and processes, so a stampede of
    /// misses for one URL makes the file once; the others wait, then find it on disk. A
    /// lock of its own for each path (`FileLock.holdingOwnFile`, named by a 64-bit hash of
    /// the path): with 256 shared lock files, a black-box probe's five-minute render of one
    /// URL held every unrelated miss whose path shared its lock file (1 in 256), of any
    /// role, until nginx answered them 504.
    public func withLock<T>(for path: String, _ body: () throws(ServiceError) -> T) throws(ServiceError) -> T {
        let locks = root + "/" + Self.locksFolder + "/" + Self.pathLocksFolder
        try? Files.makeDirectories(locks)
        // Without a lock file the work is done unlocked: a stampede makes the file twice.
        return try FileLock.holdingOwnFile(lockFile(for: path)) { _ throws(ServiceError) in try body() }
    }

    /// The lock file of a derived path: it exists exactly while the path is being made.
    func lockFile(for path: String) -> String {
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in path.utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        return root + "/" + Self.locksFolder + "/" + Self.pathLocksFolder + "/" + String(hash, radix: 16)
    }
}
