import Foundation

/// What changed between two snapshots (`lifeboat diff`), per source, by the entries their
/// manifests vouch for: added, removed, content changed (SHA-256, size or link target), type
/// changed, and metadata only (mode or time). restic's `diff` letters: `+`, `-`, `M`, `T`, `U`.
public struct SnapshotDiff: Codable, Sendable {
    public var from: String
    public var to: String
    public var sources: [SourceDiff]
    /// Sources only the newer snapshot has, and only the older.
    public var sourcesAdded: [String]
    public var sourcesRemoved: [String]

    /// One source's changes; paths as in `ls`.
    public struct SourceDiff: Codable, Sendable {
        public var source: String
        public var added: [String] = []
        public var removed: [String] = []
        public var modified: [String] = []
        public var typeChanged: [String] = []
        public var metadataChanged: [String] = []
        /// Content bytes of the added and modified files in the newer snapshot.
        public var addedBytes: Int64 = 0

        enum CodingKeys: String, CodingKey {
            case source, added, removed, modified
            case typeChanged = "type_changed"
            case metadataChanged = "metadata_changed"
            case addedBytes = "added_bytes"
        }

        public var isEmpty: Bool {
            added.isEmpty && removed.isEmpty && modified.isEmpty && typeChanged.isEmpty && metadataChanged.isEmpty
        }
    }

    enum CodingKeys: String, CodingKey {
        case from, to, sources
        case sourcesAdded = "sources_added"
        case sourcesRemoved = "sources_removed"
    }

    /// Compares `old` with `new` (manifests with entries), for `source` or every source.
    public init(from old: Manifest, to new: Manifest, source: String? = nil) {
        from = old.name
        to = new.name
        let oldSources = old.components.map(\.source).filter { source == nil || $0 == source }
        let newSources = new.components.map(\.source).filter { source == nil || $0 == source }
        sourcesAdded = newSources.filter { !oldSources.contains($0) }
        sourcesRemoved = oldSources.filter { !newSources.contains($0) }
        sources = newSources.filter(oldSources.contains).compactMap { name in
            guard let a = old.component(name), let b = new.component(name) else { return nil }
            return Self.compare(a.entries, b.entries, source: name)
        }
    }

    static func compare(_ old: [EntryRecord], _ new: [EntryRecord], source: String) -> SourceDiff {
        var diff = SourceDiff(source: source)
        var before: [[UInt8]: EntryRecord] = [:]
        for entry in old { before[entry.name.bytes] = entry }
        var seen = Set<[UInt8]>()
        for entry in new where !EntrySelection.isRoot(entry.name.bytes) {
            let name = entry.name.bytes
            seen.insert(name)
            guard let was = before[name] else {
                diff.added.append(entry.path)
                diff.addedBytes += entry.kind == .file ? entry.size : 0
                continue
            }
            if was.kind != entry.kind {
                diff.typeChanged.append(entry.path)
            } else if was.sha256 != entry.sha256 || was.size != entry.size || was.targetName != entry.targetName {
                diff.modified.append(entry.path)
                diff.addedBytes += entry.kind == .file ? entry.size : 0
            } else if was.mode != entry.mode || was.mtime != entry.mtime || was.mtimeNanoseconds != entry.mtimeNanoseconds {
                diff.metadataChanged.append(entry.path)
            }
        }
        diff.removed = old.filter { !seen.contains($0.name.bytes) && !EntrySelection.isRoot($0.name.bytes) }.map(\.path)
        return diff
    }
}
