import PostgreSQL

/// The PostgreSQL schema, as numbered migrations applied in order at start.
///
/// Several boxes (and every instance of one box) may start at once: the whole check-and-
/// apply runs under a session advisory lock, so exactly one of them applies a migration
/// and the others find it applied. Each migration commits with its version row.
enum PostgresSchema {
    /// Any constant shared by every progimage process; `pg_advisory_lock` is per database.
    private static let lockKey = "7305811204"

    static let migrations: [String] = [
        // 1: images in insertion order (`seq` is the list cursor), and the deletion log
        // every box replays to drop its copies of a deleted image.
        """
        CREATE TABLE images (
            seq BIGSERIAL PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            filename TEXT,
            format TEXT NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            bytes BIGINT NOT NULL,
            sha256 TEXT NOT NULL,
            created_at TEXT NOT NULL,
            source_url TEXT
        );
        CREATE TABLE tombstones (
            seq BIGSERIAL PRIMARY KEY,
            id TEXT NOT NULL,
            format TEXT NOT NULL,
            deleted_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            object_removed BOOLEAN NOT NULL DEFAULT false
        );
        CREATE INDEX tombstones_pending ON tombstones (seq) WHERE NOT object_removed;
        """,
        // 2: the placeholder (BlurHash), whether the image has alpha (for `.auto`), its frames.
        """
        ALTER TABLE images ADD COLUMN blurhash TEXT;
        ALTER TABLE images ADD COLUMN has_alpha BOOLEAN NOT NULL DEFAULT false;
        ALTER TABLE images ADD COLUMN frames INTEGER NOT NULL DEFAULT 1;
        """,
        // 3: the records made before 2: each box's api instance looks for them as it starts
        // (`PlaceholderBackfill`), which without this index read the whole table each time.
        """
        CREATE INDEX images_without_placeholders ON images (seq) WHERE blurhash IS NULL;
        """,
    ]

    static func migrate(_ connection: PostgresConnection) throws(PostgresError) {
        try connection.execute("SELECT pg_advisory_lock(\(lockKey))")
        defer { _ = try? connection.execute("SELECT pg_advisory_unlock(\(lockKey))") }
        try connection.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        let newest = try connection.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").rows.first?.first ?? nil
        let current = newest.flatMap { Int($0) } ?? 0
        for (index, sql) in migrations.enumerated() where index + 1 > current {
            try connection.execute("BEGIN")
            do throws(PostgresError) {
                try connection.execute(sql)
                try connection.execute("INSERT INTO schema_migrations (version) VALUES ($1)", [String(index + 1)])
                try connection.execute("COMMIT")
            } catch {
                _ = try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }
}
