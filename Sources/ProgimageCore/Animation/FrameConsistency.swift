import ProgimageAPI
import Synchronization

/// What every frame of an animation must share, decided once: the window a smart crop
/// chose on the first frame (chosen per frame, it would wander as the content moves), and
/// the overlays, read and decoded once rather than for each frame.
public final class FrameConsistency: Sendable {
    private let windows = Mutex<[Int: Origin]>([:])
    private let overlayRows = Mutex<[ImageID: StraightRGBA]>([:])

    struct Origin: Sendable { let x: Int, y: Int }

    public init() {}

    /// The window step `step` chose on the first frame that asked, choosing it now if
    /// none has.
    func window(forStep step: Int, choosing: () -> (x: Int, y: Int)) -> (x: Int, y: Int) {
        if let chosen = windows.withLock({ $0[step] }) { return (chosen.x, chosen.y) }
        let chosen = choosing()
        windows.withLock { $0[step] = Origin(x: chosen.x, y: chosen.y) }
        return chosen
    }

    /// `overlays`, each image decoded once for every frame.
    func sharing(_ overlays: OverlaySource) -> OverlaySource {
        OverlaySource { [self] id throws(ServiceError) in
            if let known = overlayRows.withLock({ $0[id] }) { return known }
            let rows = try overlays.rows(id)
            overlayRows.withLock { $0[id] = rows }
            return rows
        }
    }
}
