/// libjpeg's message buffer (`JMSG_LENGTH_MAX`, 200, and room to spare), a class so that
/// a helper thread decoding into it and the caller reading it share one.
final class JPEGMessageBuffer: @unchecked Sendable {
    let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: 256)

    init() { pointer.initialize(repeating: 0, count: 256) }
    deinit { pointer.deallocate() }

    var text: String { String(cString: pointer) }
}
