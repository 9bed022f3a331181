import Foundation

/// What a PostgreSQL component's manifest records (docs/FORMAT.md, "PostgreSQL components"),
/// read in one place: restore, drills, verify and WAL expiry use these fields, never the keys.
/// Lenient like the manifest reader: a key an older build did not write reads as nil.
struct PostgresMetadata {
    /// nil in components of builds that did not record it (they were logical dumps).
    var mode: PostgresAdapter.Mode?
    /// The database a logical dump holds (physical: the one checks connect to).
    var database: String?
    /// The server's major version at capture (`server_major`).
    var serverMajor: Int
    /// The server's port at capture.
    var port: Int?
    /// Physical: the first and last WAL segment the base backup needs.
    var startWAL: String?
    var stopWAL: String?
    var walSegmentSize: Int64?
    /// Logical: the planner's row estimate of every table (`schema.table`), as captured.
    var tableRowEstimates: [String: Int64]?
    /// Logical: pg_dump's directory format (`jobs: N`, entries `pg_dump.dir/NAME`) rather than
    /// one custom-format stream in parts; and how many jobs dumped it.
    var isDirectoryDump: Bool
    var jobs: Int?

    init(_ component: Manifest.Component) {
        let m = component.metadata
        mode = m["mode"]?.stringValue.flatMap(PostgresAdapter.Mode.init(rawValue:))
        database = m["database"]?.stringValue
        serverMajor = Int(m["server_major"]?.intValue ?? 0)
        port = m["port"]?.intValue.map { Int($0) }
        startWAL = m["start_wal"]?.stringValue
        stopWAL = m["stop_wal"]?.stringValue
        walSegmentSize = m["wal_segment_size"]?.intValue
        isDirectoryDump = m["dump_format"]?.stringValue == "directory"
        jobs = m["jobs"]?.intValue.map { Int($0) }
        if case .object(let tables)? = m["table_row_estimates"] {
            tableRowEstimates = tables.mapValues { $0.intValue ?? 0 }
        }
    }

    var isPhysical: Bool { mode == .physical }
}
