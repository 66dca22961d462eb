import Foundation
import Synchronization
import Testing

@testable import FastCGI

/// Eight threads wait on one listening socket, each with a `ConnectionWaiter` of its own;
/// one connection comes. With `poll` on the socket all eight woke for it.
@Suite struct ConnectionWaiterTests {
    @Test func oneConnectionWakesOneIdleThread() throws {
        let path = NSTemporaryDirectory() + "progimage-waiter-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        defer { unlink(path) }
        let listenFD = try FastCGIListenSocket.path(path).open(backlog: 16)
        defer { close(listenFD) }

        let threads = 8
        let ready = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let woken = Atomic<Int>(0)
        // The first thread woken takes the connection, as a server's would: a thread that
        // reached its wait only after that finds nothing to wake for.
        let accepted = Mutex<Int32?>(nil)
        for _ in 0..<threads {
            Thread.detachNewThread {
                let waiter = ConnectionWaiter(listenFD: listenFD)
                ready.signal()
                if waiter.connectionMayBeWaiting(milliseconds: 1500) {
                    woken.add(1, ordering: .relaxed)
                    accepted.withLock { fd in if fd == nil { fd = accept(listenFD, nil, nil) } }
                }
                done.signal()
            }
        }
        for _ in 0..<threads { ready.wait() }
        Thread.sleep(forTimeInterval: 0.5)  // every thread inside its wait

        let client = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8.prefix(raw.count - 1)))
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(connected == 0)
        for _ in 0..<threads { done.wait() }
        accepted.withLock { fd in if let fd, fd >= 0 { close(fd) } }
        // EPOLLEXCLUSIVE promises "one or more"; never all of them.
        let count = woken.load(ordering: .relaxed)
        #expect(count >= 1 && count <= 2, "\(count) of \(threads) threads woke for one connection")
    }
}
