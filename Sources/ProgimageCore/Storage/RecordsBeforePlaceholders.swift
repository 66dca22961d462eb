public import ProgimageAPI

/// Records written before the image object had its placeholder fields (`blurhash`,
/// `has_alpha`, `frames`, 2026-12-05). The columns were added to such a database with
/// defaults: no placeholder, opaque, one frame, which said an alpha PNG uploaded before was
/// opaque (`.auto` then chose JPEG for it) and an animated GIF a still. Every upload since
/// has a blurhash, so its absence marks them; `PlaceholderBackfill` fills them in.
public protocol RecordsBeforePlaceholders: MetadataStore {
    /// Oldest first, after insertion sequence `sequence`, with that sequence.
    func recordsWithoutPlaceholders(after sequence: Int64, limit: Int) throws(ServiceError) -> [(sequence: Int64, record: ImageRecord)]
    /// What an upload records now, for one of them (no effect when it was deleted meanwhile,
    /// or was given them already).
    func setPlaceholders(of id: ImageID, blurhash: String, hasAlpha: Bool, frames: Int) throws(ServiceError)
}
