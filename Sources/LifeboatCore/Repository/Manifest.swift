import Foundation

/// A snapshot's manifest: the only proof that a snapshot exists and the record every check is
/// made against. Versioned (`format`) and carrying its own SHA-256 (`checksum`), computed over the
/// canonical JSON encoding (sorted keys, no whitespace) of every other field. See docs/FORMAT.md.
public struct Manifest: Codable, Sendable, Equatable {
    /// The manifest format of a format-1 repository; format 2 adds `chunk_list` and `dedup`;
    /// format 3 (what a format-2 repository's backups write now) moves each component's entries
    /// into an entry list object (`entry_list`), so a manifest stays small.
    public static let currentFormat = 1
    public static let entryListFormat = 3
    public static let readableFormats = [1, 2, 3]

    public var format: Int
    /// 16 hex digits, unique in the repository.
    public var id: String
    /// `<schedule>-<UTC time>`, for people.
    public var name: String
    public var schedule: String
    /// Path of the policy the snapshot was taken under, if any.
    public var policy: String?
    public var host: String
    /// Labels given with `backup --tag` (`snapshots --tag`, retention's `keep-tag`); absent
    /// when none (and in every manifest written before tags existed).
    public var tags: [String]?
    public var started: String
    public var finished: String
    /// The moment the data reflects (for a file tree: when capture began).
    public var recoveryPoint: String
    /// Versions of Lifeboat and of the libraries and tools that produced the data.
    public var tools: [String: String]
    public var components: [Component]
    /// SHA-256 over the canonical encoding of the manifest without this field.
    public var checksum: String?
    /// In an encrypted repository: the whole manifest, sealed (base64); the rest of this
    /// document is then its plaintext envelope (`envelope(sealed:)`).
    public var sealed: String?

    public init(
        format: Int = Manifest.currentFormat, id: String, name: String, schedule: String, policy: String?,
        host: String, started: String, finished: String, recoveryPoint: String, tools: [String: String],
        components: [Component], checksum: String? = nil
    ) {
        self.format = format
        self.id = id
        self.name = name
        self.schedule = schedule
        self.policy = policy
        self.host = host
        self.started = started
        self.finished = finished
        self.recoveryPoint = recoveryPoint
        self.tools = tools
        self.components = components
        self.checksum = checksum
    }

    /// One source's data within a snapshot.
    public struct Component: Codable, Sendable, Equatable {
        public var source: String
        public var type: String
        /// Stored file, relative to the repository root (format 1; empty in format 2).
        public var file: String
        /// Format 2: the id of the chunk list holding the component's stream.
        public var chunkList: String?
        /// Format 2: what this component added to the repository after deduplication.
        public var dedup: Dedup?
        /// Manifest format 3: where the entries are (then `entries` is stored empty and holds
        /// them only once resolved from the chunk store, `Repository.manifest(id:)`).
        var entryList: EntryList.Reference?

        /// `chunkList` as an id (nil for a format-1 component); a malformed one is damage.
        func chunkListId() throws -> ChunkId? {
            guard let chunkList else { return nil }
            guard let id = ChunkId(hex: chunkList) else {
                throw LifeboatError(.integrity, "component \(source): chunk list id \(chunkList) is not an id")
            }
            return id
        }

        /// `entryList`'s id (nil when the manifest holds the entries); a malformed one is damage.
        func entryListId() throws -> ChunkId? {
            guard let entryList else { return nil }
            guard let id = ChunkId(hex: entryList.id) else {
                throw LifeboatError(.integrity, "component \(source): entry list id \(entryList.id) is not an id")
            }
            return id
        }

        /// The chunk lists a component needs: its stream's and its entries'.
        func chunkLists() throws -> [ChunkId] {
            [try chunkListId(), try entryListId()].compactMap { $0 }
        }

        public struct Dedup: Codable, Sendable, Equatable {
            public var chunks: Int
            public var newChunks: Int
            /// Plaintext bytes of the new chunks.
            public var newBytes: Int64
            /// Their stored size (compressed, encrypted): what the component cost the repository.
            public var storedBytes: Int64

            enum CodingKeys: String, CodingKey {
                case chunks
                case newChunks = "new_chunks"
                case newBytes = "new_bytes"
                case storedBytes = "stored_bytes"
            }
        }
        public var compression: String
        /// Size of the stored (compressed) file.
        public var bytes: Int64
        /// SHA-256 of the stored (compressed) file.
        public var sha256: String
        /// Total size of the entries' content before compression.
        public var contentBytes: Int64
        /// Every entry, in stream order; empty when the manifest was loaded without entries
        /// (`Repository.loadSnapshots()`), which `entryCount` still counts.
        public var entries: [EntryRecord]
        /// How many entries the component has (not stored: derived when loading or building).
        public var entryCount: Int = 0
        /// Adapter-specific facts (source path, server version, counts).
        public var metadata: [String: JSONValue]
        /// Things a person should know (files that changed while read, skipped special files).
        public var warnings: [String]

        public init(
            source: String, type: String, file: String, compression: String, bytes: Int64, sha256: String,
            contentBytes: Int64, entries: [EntryRecord], metadata: [String: JSONValue], warnings: [String]
        ) {
            self.source = source
            self.type = type
            self.file = file
            self.compression = compression
            self.bytes = bytes
            self.sha256 = sha256
            self.contentBytes = contentBytes
            self.entries = entries
            self.entryCount = entries.count
            self.metadata = metadata
            self.warnings = warnings
        }

        /// The moment this component's captured state reflects (its own capture moment: Redis's
        /// fork, Chroma's copy with the server stopped, the start of a files walk, a PostgreSQL
        /// dump's snapshot or base backup's end), kept in `metadata.recovery_point` so that older
        /// builds, which refuse unknown keys, still read the manifest; nil in older manifests.
        public var recoveryPoint: String? { metadata["recovery_point"]?.stringValue }

        enum CodingKeys: String, CodingKey {
            case source, type, file, compression, bytes, sha256, entries, metadata, warnings, dedup
            case contentBytes = "content_bytes"
            case chunkList = "chunk_list"
            case entryList = "entry_list"
        }
    }

    enum CodingKeys: String, CodingKey {
        case format, id, name, schedule, policy, host, tags, started, finished, tools, components, checksum, sealed
        case recoveryPoint = "recovery_point"
    }

    /// The snapshot time (when it started), parsed.
    public var time: Date { Timestamp.parse(started) ?? .distantPast }

    /// The component for `source`, if the snapshot has one.
    public func component(_ source: String) -> Component? {
        components.first { $0.source == source }
    }

    /// The moment `source`'s captured state reflects: its component's own capture moment where
    /// the manifest records one, else (older builds, or no source named) the snapshot-wide
    /// `recovery_point`, the newest of them.
    public func recoveryPoint(of source: String?) -> String {
        source.flatMap { component($0)?.recoveryPoint } ?? recoveryPoint
    }

    /// The canonical checksum of this manifest's content (ignoring `checksum`).
    public func computeChecksum() throws -> String {
        var body = self
        body.checksum = nil
        return try StrictJSON.checksum(of: body)
    }

    /// The bytes written to `snapshots/<id>.json`: sealed with its checksum, pretty-printed.
    public func sealedBytes() throws -> [UInt8] {
        var sealed = self
        sealed.checksum = try computeChecksum()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return Array(try encoder.encode(sealed)) + [0x0a]
    }

    /// Decodes a stored manifest and proves it: known format, checksum present and matching.
    /// With `keepEntries` false the entries are dropped after the proof (their count is kept), so
    /// listing many snapshots of large trees does not hold every entry in memory.
    public static func load(_ data: Data, path: String, keepEntries: Bool = true) throws -> Manifest {
        var manifest: Manifest
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: data)
        } catch {
            throw LifeboatError(.integrity, "manifest \(path) cannot be read as JSON", underlying: error)
        }
        guard readableFormats.contains(manifest.format) else {
            throw LifeboatError(
                .integrity,
                "manifest \(path) has format \(manifest.format); this build reads formats "
                    + readableFormats.map(String.init).joined(separator: ", "),
                fix: "use a Lifeboat release that reads format \(manifest.format)")
        }
        guard let stored = manifest.checksum else {
            throw LifeboatError(.integrity, "manifest \(path) has no checksum")
        }
        let actual = try manifest.computeChecksum()
        guard stored == actual else {
            throw LifeboatError(
                .integrity, "manifest \(path) was modified: checksum \(stored.prefix(12))… does not match its content (\(actual.prefix(12))…)")
        }
        if let extra = StrictJSON.unknownContent(data, decoded: manifest) {
            throw LifeboatError(.integrity, "manifest \(path) was modified: it holds \(extra), which its checksum does not cover")
        }
        for i in manifest.components.indices {
            manifest.components[i].entryCount = manifest.components[i].entryList?.count ?? manifest.components[i].entries.count
            if !keepEntries { manifest.components[i].entries = [] }
        }
        return manifest
    }
}

extension Manifest {
    /// Where manifests are stored.
    static let folder = "snapshots/"

    /// The key of snapshot `id`'s manifest: `snapshots/<id>.json`.
    static func key(id: String) -> String { folder + id + ".json" }

    /// The snapshot a manifest key names; nil for any other key (one in a subfolder too).
    static func id(key: String) -> String? {
        guard key.hasPrefix(folder), key.hasSuffix(".json") else { return nil }
        let id = key.dropFirst(folder.count).dropLast(".json".count)
        return id.isEmpty || id.contains("/") ? nil : String(id)
    }

    /// Its object's key in the repository.
    var key: String { Self.key(id: id) }
}
