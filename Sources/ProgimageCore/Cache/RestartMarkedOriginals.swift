import Dispatch
import GD
import POSIX
import ProgimageAPI
import Synchronization

/// Large JPEG originals decode in two parts on two threads when their scan has a restart
/// marker near the middle (`JPEGRestarts`); most files have none. For those, a lossless
/// copy with a restart marker after every MCU row (`JPEGRestarts.restartMarkedCopy`: the
/// same coefficients, so exactly the same pixels) is kept among the image's derived
/// files, under a name nginx never serves, and decoded in its place.
///
/// The copy is disposable like every derived file (a delete, the pruner or a wiped cache
/// removes it; the next miss makes it again) and made where it costs a request nothing:
/// after a miss that decoded the original whole, on a `SCHED_IDLE` thread, one at a time
/// in a process. A busy box makes none until it has a moment; a box that only ever makes
/// one derived file of each image pays ~90 ms of idle CPU per 12 MP image for nothing.
/// A copy is about its original's size, so none is made past 1% of the cache's budget.
/// 12 MP → 800 px thumbnail, `progimage-bench --chain`: 36 → 24 ms wall, the same CPU.
public final class RestartMarkedOriginals: Sendable {
    /// File name in the image's cache folder: no extension nginx maps to a file.
    static let fileName = "restart-marked-original"
    /// Below this many pixels a decode is not worth two threads.
    static let minimumPixels = 1 << 20
    /// The largest share of the cache's budget one copy may take: with a small budget the
    /// copies (each about its original's size) would evict the derived files themselves.
    static let largestShareOfBudget = 100

    private let cache: DerivedImageCache
    private let metadata: any MetadataStore
    /// A copy is being made by this process.
    private let making = Atomic(false)

    public init(cache: DerivedImageCache, metadata: any MetadataStore) {
        self.cache = cache
        self.metadata = metadata
    }

    func path(of id: ImageID) -> String { cache.directory(of: id) + "/" + Self.fileName }

    /// The copy to decode in place of JPEG original `original` of image `id` (`pixels` its
    /// stored pixels), when there is one; otherwise one is started when it would help.
    func copy(of original: [UInt8], id: ImageID, pixels: Int) -> [UInt8]? {
        guard pixels >= Self.minimumPixels,
            cache.budget.map({ original.count * Self.largestShareOfBudget <= $0.maxBytes }) ?? true
        else { return nil }
        // An empty file: no copy can be made of this original (a CMYK file, a progressive
        // one refined short of its last bit, scans that cannot be interleaved), tried once.
        if let copy = try? Files.read(path(of: id)) { return copy.isEmpty ? nil : copy }
        if !JPEGRestarts.splitInTwo(original) { makeCopy(of: original, id: id) }
        return nil
    }

    /// Removes the copy of `id`: the next miss decodes the original and makes it again.
    func discard(of id: ImageID) {
        try? Files.remove(path(of: id))
    }

    /// Starts making the copy on an idle thread, unless one is being made; it is stored
    /// from a thread of normal priority, since storing takes the store's and the file
    /// system's locks, which a starved thread must not hold.
    private func makeCopy(of original: [UInt8], id: ImageID) {
        guard making.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return }
        let started = IdleThread.start { [self] in
            // None possible: an empty file says so to the next misses.
            let copy = JPEGRestarts.restartMarkedCopy(of: original) ?? []
            DispatchQueue.global().async { [self] in
                defer { making.store(false, ordering: .releasing) }
                store(copy, id: id)
            }
        }
        if !started { making.store(false, ordering: .releasing) }
    }

    /// Two processes that make the same copy write the same bytes; the last rename wins.
    /// The record is asked for and the copy written through the image's deletion gate, as a
    /// render's file is: a delete then either finds the copy and removes it with the rest, or
    /// runs first and the copy is not written. It had asked after writing and, finding no
    /// record, removed every derived file of the image itself: of an image whose delete was
    /// cut short, the files the retried delete is to remove were gone before it, whenever a
    /// copy landed in between (a CI run; 1 in 40 such deletes on a loaded machine).
    func store(_ copy: [UInt8], id: ImageID) {
        cache.whileNotDeleting(id) {
            guard (try? metadata.record(id)).flatMap({ $0 }) != nil else { return }
            _ = try? cache.store(copy, at: path(of: id))
        }
    }
}
