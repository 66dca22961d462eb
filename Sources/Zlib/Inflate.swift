internal import CZlib

/// zlib's inflate, for the few compressed chunks read outside a decoder (PNG `iCCP`).
public enum Inflate {
    /// The decompressed bytes of a complete zlib stream, or nil when it is malformed,
    /// truncated, or would decompress to more than `limit` bytes (a zip bomb stops there).
    public static func zlib(_ compressed: ArraySlice<UInt8>, limit: Int) -> [UInt8]? {
        var stream = z_stream()
        guard pg_inflate_init(&stream) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        return compressed.withUnsafeBufferPointer { source -> [UInt8]? in
            stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            stream.avail_in = uInt(source.count)
            while true {
                let status = chunk.withUnsafeMutableBufferPointer { target -> Int32 in
                    stream.next_out = target.baseAddress
                    stream.avail_out = uInt(target.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                output += chunk[0..<(chunk.count - Int(stream.avail_out))]
                if output.count > limit { return nil }
                switch status {
                case Z_STREAM_END: return output
                case Z_OK: continue
                default: return nil  // Z_BUF_ERROR: the input ran out before the end
                }
            }
        }
    }
}
