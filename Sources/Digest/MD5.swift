internal import CCrypto

/// MD5, for one purpose only: `Content-MD5`, which S3-compatible stores check against the
/// body they received (SeaweedFS does not check `x-amz-content-sha256`; measured: a body
/// that did not match its declared SHA-256 was stored, one that did not match its
/// `Content-MD5` was refused with `BadDigest`). Not for anything that needs collision resistance.
public enum MD5 {
    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        bytes.withUnsafeBufferPointer { input in
            _ = EVP_Digest(input.baseAddress, input.count, &digest, &length, EVP_md5(), nil)
        }
        return Array(digest.prefix(Int(length)))
    }
}
