internal import CFastCGI
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A pool of threads accepting FastCGI requests on one listening socket, stopped cleanly
/// by SIGTERM or SIGINT.
///
/// libfcgi only sets a flag on SIGTERM and the signal often lands on a thread that is not
/// in `accept()`, so a threaded worker can hang until the next connection. What works
/// (8 of 8 runs on Debian 12 with libfcgi 2.4.2, where the plain flag hung 4 of 6): block TERM/INT everywhere, `sigwait` on the calling
/// thread, then `FCGX_ShutdownPending()` and SIGUSR1 to the threads that are waiting in
/// `accept()` until they return. Threads busy with a request are never signalled, so an
/// in-flight response is never cut by EINTR; they finish and then see the stop flag.
///
/// A thread enters `FCGX_Accept_r` only when a connection is waiting (its own wait on the
/// socket first, `ConnectionWaiter`, every 250 ms a look at the stop flag), so at a stop no thread is normally
/// inside libfcgi and no signal is needed. Signalling one that is inside livelocked a
/// recycling worker: libfcgi's `accept` waits up to 2 s for the new connection's first
/// bytes (its unix-socket "keeper" check), a SIGUSR1 every 50 ms cut that wait, libfcgi
/// closed the connection and accepted the next one nginx retried, forever (seen once in a
/// CI run, nginx logging broken pipes). The signal is now the fallback, once a second.
public final class FastCGIServer: Sendable {
    public typealias Handler = @Sendable (FastCGIExchange) -> Void

    private let listenFD: Int32
    private let threadCount: Int
    private let handler: Handler
    private let stopping = Atomic<Bool>(false)
    private let acceptLock = Mutex<Void>(())
    /// Threads currently inside `FCGX_Accept_r`, the only ones safe to interrupt.
    private let accepting = Mutex<[pthread_t: Bool]>([:])
    private let running = Atomic<Int>(0)

    public init(listen: FastCGIListenSocket, threads: Int, handler: @escaping Handler) throws(FastCGIError) {
        guard FCGX_Init() == 0 else { throw .initFailed }
        listenFD = try listen.open(backlog: 1024)
        threadCount = max(1, threads)
        self.handler = handler
    }

    /// Serves until SIGTERM or SIGINT (or `FastCGIServer.requestStop()`), then waits for
    /// in-flight requests to finish. Must be called from the process's main thread before
    /// any other thread exists, so every thread inherits the blocked signal mask.
    public func run() {
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGTERM)
        sigaddset(&stopSignals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)
        Self.installWakeHandler()
        Self.installStopForwarding()

        var threads: [pthread_t] = []
        for _ in 0..<threadCount {
            let context = Unmanaged.passRetained(self).toOpaque()
            var thread = pthread_t()
            if pthread_create(&thread, nil, fastCGIWorkerEntry, context) == 0 {
                threads.append(thread)
                running.add(1, ordering: .sequentiallyConsistent)
            } else {
                Unmanaged<FastCGIServer>.fromOpaque(context).release()
            }
        }

        var received: Int32 = 0
        sigwait(&stopSignals, &received)
        stopping.store(true, ordering: .sequentiallyConsistent)
        FCGX_ShutdownPending()
        var waited = 0
        while running.load(ordering: .sequentiallyConsistent) > 0 {
            // A thread can still be blocked in `accept()` if its connection went away
            // between the poll and the accept: once a second, never faster than libfcgi's
            // keeper check can finish.
            if waited > 0 && waited % 20 == 0 {
                accepting.withLock { waiting in
                    for thread in waiting.keys { pthread_kill(thread, SIGUSR1) }
                }
            }
            usleep(50_000)
            waited += 1
        }
        for thread in threads { pthread_join(thread, nil) }
    }

    /// Asks the running server to stop as if it had received SIGTERM (used to recycle a
    /// worker after N requests); in-flight requests still finish. Sent to the thread in
    /// `sigwait`: a process-directed SIGTERM went to a thread that has it unblocked (one
    /// libdispatch started before `run` blocked it), whose libfcgi handler only set
    /// libfcgi's flag, so the accepting threads ended and `sigwait` waited for good (a
    /// black-box probe: recycling every request hung a role within 25 s, 3 of 3 runs).
    public static func requestStop() {
        let main = signalledThread.load(ordering: .sequentiallyConsistent)
        if main != 0 { pthread_kill(pthread_t(main), SIGTERM) } else { kill(getpid(), SIGTERM) }
    }

    /// The thread in `sigwait` (0 before `run`).
    private static let signalledThread = Atomic<UInt>(0)

    /// A SIGTERM or SIGINT that lands on a thread with it unblocked (threads started before
    /// `run` blocked them, which libdispatch's are) is passed on to the thread in `sigwait`,
    /// where it is blocked and so waits for `sigwait` to take it. This replaces libfcgi's
    /// own handler, which only set a flag nobody waits on. `pthread_kill` is async-signal-safe.
    private static func installStopForwarding() {
        signalledThread.store(UInt(pthread_self()), ordering: .sequentiallyConsistent)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            pthread_kill(pthread_t(FastCGIServer.signalledThread.load(ordering: .sequentiallyConsistent)), signal)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGTERM, &action, nil)
        sigaction(SIGINT, &action, nil)
    }

    /// SIGUSR1 only has to interrupt `accept()` with EINTR: no SA_RESTART, empty handler.
    private static func installWakeHandler() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGUSR1, &action, nil)
    }

    fileprivate func workerLoop() {
        defer { running.subtract(1, ordering: .sequentiallyConsistent) }
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        defer { request.deallocate() }
        guard FCGX_InitRequest(request, listenFD, 0) == 0 else { return }
        let me = pthread_self()
        let exchange = FastCGIExchange(request: request)
        let waiter = ConnectionWaiter(listenFD: listenFD)
        while !stopping.load(ordering: .sequentiallyConsistent) {
            guard waiter.connectionMayBeWaiting(milliseconds: 250) else { continue }
            let accepted: Bool? = acceptLock.withLock { _ in
                if stopping.load(ordering: .sequentiallyConsistent) { return false }
                // The other thread may have taken it while this one waited for the lock.
                guard ConnectionWaiter.connectionWaiting(on: listenFD, milliseconds: 0) else { return nil }
                accepting.withLock { $0[me] = true }
                defer { accepting.withLock { _ = $0.removeValue(forKey: me) } }
                return FCGX_Accept_r(request) >= 0
            }
            guard let accepted else { continue }
            guard accepted else { break }
            handler(exchange)
            FCGX_Finish_r(request)
        }
        FCGX_Free(request, 1)
    }
}

private func fastCGIWorkerEntry(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let server = Unmanaged<FastCGIServer>.fromOpaque(context!).takeRetainedValue()
    server.workerLoop()
    return nil
}
