/// One snapshot as `lifeboat snapshots --json` lists it (a stable, documented schema).
public struct SnapshotSummary: Codable, Sendable {
    public struct Component: Codable, Sendable {
        public var source: String
        public var type: String
        public var file: String
        public var compression: String
        /// Stored (compressed) bytes.
        public var bytes: Int64
        /// SHA-256 of the stored bytes.
        public var sha256: String
        public var contentBytes: Int64
        public var entries: Int
        public var warnings: Int
        /// Format 2: the chunk list, and what the component added after deduplication.
        public var chunkList: String?
        public var dedup: Manifest.Component.Dedup?

        enum CodingKeys: String, CodingKey {
            case source, type, file, compression, bytes, sha256, entries, warnings, dedup
            case contentBytes = "content_bytes"
            case chunkList = "chunk_list"
        }
    }

    public var id: String
    public var name: String
    /// When the snapshot started (RFC 3339, UTC).
    public var time: String
    public var finished: String
    public var recoveryPoint: String
    public var schedule: String
    public var host: String
    public var tags: [String]
    public var components: [Component]

    enum CodingKeys: String, CodingKey {
        case id, name, time, finished, schedule, host, tags, components
        case recoveryPoint = "recovery_point"
    }

    public init(_ m: Manifest) {
        id = m.id
        name = m.name
        time = m.started
        finished = m.finished
        recoveryPoint = m.recoveryPoint
        schedule = m.schedule
        host = m.host
        tags = m.tags ?? []
        components = m.components.map {
            Component(
                source: $0.source, type: $0.type, file: $0.file, compression: $0.compression, bytes: $0.bytes,
                sha256: $0.sha256, contentBytes: $0.contentBytes, entries: $0.entryCount, warnings: $0.warnings.count,
                chunkList: $0.chunkList, dedup: $0.dedup)
        }
    }
}
