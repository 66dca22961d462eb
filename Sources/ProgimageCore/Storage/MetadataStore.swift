public import ProgimageAPI

/// Image metadata. Kept small so PostgreSQL can replace SQLite without touching the pipeline.
public protocol MetadataStore: Sendable {
    /// Inserts all records or none, in order (the last is the newest), and returns them
    /// stamped with one `created_at`: the moment the store held the lock that orders
    /// inserts, so that no record's `created_at` is older than one listed below it (stamped
    /// by the caller, a multi-file upload's first part was older than another upload that
    /// committed while its originals were still being written).
    func insert(_ records: [ImageRecord]) throws(ServiceError) -> [ImageRecord]
    func record(_ id: ImageID) throws(ServiceError) -> ImageRecord?
    /// Newest first; `cursor` continues after the page that returned it.
    func list(limit: Int, cursor: ListCursor?) throws(ServiceError) -> (records: [ImageRecord], next: ListCursor?)
    /// Removes the record; false when there was none.
    func delete(_ id: ImageID) throws(ServiceError) -> Bool
    /// Whether the store can be used now (`/health/api`'s `database`): PostgreSQL
    /// reachable, SQLite's file still the one opened.
    var isAvailable: Bool { get }
}

/// An opaque position in the newest-first listing (base64url, `[A-Za-z0-9_-]`).
public struct ListCursor: Sendable, Equatable {
    /// The insertion sequence number of the last record already returned.
    let sequence: Int64

    init(sequence: Int64) {
        self.sequence = sequence
    }

    public init?(token: String) {
        guard !token.isEmpty, let bytes = Base64URL.decode(token), bytes.first == UInt8(ascii: "s"),
            let value = Int64(String(decoding: bytes.dropFirst(), as: UTF8.self)), value > 0,
            // One spelling a position: `s+5` and `s05` were taken for `s5`.
            String(value) == String(decoding: bytes.dropFirst(), as: UTF8.self),
            Base64URL.encode(bytes) == token
        else { return nil }
        sequence = value
    }

    public var token: String { Base64URL.encode(Array("s\(sequence)".utf8)) }
}
