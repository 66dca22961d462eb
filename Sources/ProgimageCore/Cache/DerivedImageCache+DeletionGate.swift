import POSIX
public import ProgimageAPI

/// An image's delete and the last step of its renders, kept apart. A render put its file
/// in place and only then found the image deleted and removed it: nginx served the file
/// in between, as a HIT a year-long `Cache-Control` lets a CDN keep, up to 2 s after the
/// DELETE had answered 204 (a black-box tester, 4 races in ~60). A render now asks for
/// the record and writes its file holding its image's gate shared; a delete removes the
/// record and the image's files holding it exclusive. So a render either finds the record
/// gone and writes nothing, or writes before the delete starts, whose removal then takes
/// the file with the rest. Gates are striped by the id's hash over a fixed set of lock
/// files (renders share them; a delete holds one for milliseconds), so none is left per
/// image.
extension DerivedImageCache {
    /// Runs a render's last step (its record asked for, its file written) holding the gate
    /// of image `id` shared.
    public func whileNotDeleting<T, E: Error>(_ id: ImageID, _ body: () throws(E) -> T) throws(E) -> T {
        try throughGate(of: id, .shared, body)
    }

    /// Runs a delete (the record and the image's files removed) holding the gate of image
    /// `id` exclusive: no render of it is between its record check and its write.
    public func whileDeleting<T, E: Error>(_ id: ImageID, _ body: () throws(E) -> T) throws(E) -> T {
        try throughGate(of: id, .exclusive, body)
    }

    /// Without a lock file (a full or read-only disk) `body` runs ungated.
    private func throughGate<T, E: Error>(of id: ImageID, _ mode: FileLock.Mode, _ body: () throws(E) -> T) throws(E) -> T {
        let gates = root + "/" + Self.locksFolder + "/" + Self.gatesFolder
        try? Files.makeDirectories(gates)
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in id.rawValue.utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        return try FileLock.holding("\(gates)/\(hash % Self.gateCount)", mode) { _ throws(E) in try body() }
    }

    static let gatesFolder = "gates"
    static let gateCount: UInt64 = 1024
}
