import Dispatch
import GD
import ProgimageAPI
import Synchronization

/// Carries an animation's frames from the thread that decodes and transforms them to the
/// one that encodes them, at most two waiting: the two halves of the work overlap on two
/// cores instead of taking turns (24 frames 480×320 → 256 px WebP: 1.10× libvips's
/// wall alone, most of it libgd's GIF decode and libwebp's encode in equal parts).
/// `Pixels`: libgd's image, or 8-bit straight rows for an animation with alpha.
final class FrameHandoff<Pixels: ~Copyable>: Sendable {
    private let slots = DispatchSemaphore(value: 2)
    private let ready = DispatchSemaphore(value: 0)
    private let state = Mutex(State())

    private struct State: ~Copyable {
        var frames: [Frame] = []
        var finished = false
        var failure: ServiceError?
        var cancelled = false
    }

    /// One frame in transit. Owned by the handoff between `put` and `take`, then by the
    /// taker alone.
    final class Frame: @unchecked Sendable {
        private var image: Pixels?
        let durationMilliseconds: Int

        init(_ image: consuming Pixels, durationMilliseconds: Int) {
            self.image = consume image
            self.durationMilliseconds = durationMilliseconds
        }

        func takeImage() -> Pixels? { image.take() }
    }

    /// Producer: waits for room, then hands over a frame. Throws once the consumer gave up.
    func put(_ image: consuming Pixels, durationMilliseconds: Int) throws(ServiceError) {
        slots.wait()
        let frame = Frame(image, durationMilliseconds: durationMilliseconds)
        let cancelled = state.withLock { state in
            if !state.cancelled { state.frames.append(frame) }
            return state.cancelled
        }
        guard !cancelled else {
            slots.signal()
            throw ServiceError(.internalError, "the animation's encoder stopped")
        }
        ready.signal()
    }

    /// Producer: no more frames, and why when it stopped early.
    func finish(_ failure: ServiceError?) {
        state.withLock { state in
            state.finished = true
            if state.failure == nil { state.failure = failure }
        }
        ready.signal()
    }

    /// Consumer: the next frame, or nil once the producer finished and nothing waits.
    func take() -> Frame? {
        while true {
            ready.wait()
            let next: Frame?? = state.withLock { state in
                if !state.frames.isEmpty { return .some(state.frames.removeFirst()) }
                return state.finished ? .some(nil) : nil
            }
            switch next {
            case .some(let frame?):
                slots.signal()
                return frame
            case .some(nil):
                ready.signal()  // later calls see the end too
                return nil
            case nil:
                continue
            }
        }
    }

    /// Consumer: stop the producer at its next frame (the consumer keeps taking until nil).
    func cancel() {
        state.withLock { $0.cancelled = true }
    }

    /// Why the producer stopped early, if it did.
    var failure: ServiceError? { state.withLock { $0.failure } }
}
