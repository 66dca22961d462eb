import ProgimageAPI
import GD
import Synchronization

/// What every frame of an animation must share, decided once: the window a smart crop
/// chose on the first frame (chosen per frame, it would wander as the content moves), and
/// the overlays, read and decoded once rather than for each frame.
public final class FrameConsistency: Sendable {
    private let windows = Mutex<[Int: Origin]>([:])
    private let overlayImages = Mutex<[ImageID: DecodedOverlay]>([:])
    private let overlayRows = Mutex<[ImageID: StraightRGBA]>([:])

    struct Origin: Sendable { let x: Int, y: Int }

    private final class DecodedOverlay: Sendable {
        let image: GDImage
        init(_ image: consuming GDImage) { self.image = image }
    }

    public init() {}

    /// The window step `step` chose on the first frame that asked, choosing it now if
    /// none has.
    func window(forStep step: Int, choosing: () -> (x: Int, y: Int)) -> (x: Int, y: Int) {
        if let chosen = windows.withLock({ $0[step] }) { return (chosen.x, chosen.y) }
        let chosen = choosing()
        windows.withLock { $0[step] = Origin(x: chosen.x, y: chosen.y) }
        return chosen
    }

    /// `overlays`, each image decoded once (as libgd's image or as 8-bit rows, whichever the
    /// frames ask for) and copied for every frame after.
    func sharing(_ overlays: OverlaySource) -> OverlaySource {
        OverlaySource(
            image: { [self] id throws(ServiceError) in
                let known = overlayImages.withLock { $0[id] }
                let decoded: DecodedOverlay
                if let known {
                    decoded = known
                } else {
                    decoded = DecodedOverlay(try overlays.image(id))
                    overlayImages.withLock { $0[id] = decoded }
                }
                do throws(GDError) {
                    return try decoded.image.copy()
                } catch {
                    throw error.serviceError
                }
            },
            rows: { [self] id throws(ServiceError) in
                if let known = overlayRows.withLock({ $0[id] }) { return known }
                let rows = try overlays.rows(id)
                overlayRows.withLock { $0[id] = rows }
                return rows
            })
    }
}
