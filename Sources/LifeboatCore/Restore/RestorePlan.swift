import Foundation

/// What a restore will do, decided before anything is written; shown by `restore --dry-run`.
public struct RestorePlan: Codable, Sendable {
    public var snapshot: String
    public var id: String
    public var source: String
    public var type: String
    public var file: String
    public var storedBytes: Int64
    public var contentBytes: Int64
    public var entries: Int
    public var target: String?
    public var recoveryPoint: String
    /// PostgreSQL physical: where WAL replay stops (`--at`, `--target-name`).
    public var recoveryTarget: String?
    /// PostgreSQL physical: the archived WAL the recovery may read.
    public var wal: WALRange?
    /// A directory target that holds something: `--force` moves it aside (kept, not deleted).
    public var movesAside: Bool?
    /// A partial restore (`--include`, `--exclude`): how many entries it writes.
    public var selectedEntries: Int?
    /// What else the dry run found out (roles a PostgreSQL restore would create, …).
    public var notes: [String]?

    /// A stretch of the WAL archive.
    public struct WALRange: Codable, Sendable {
        public var first: String
        public var last: String
        public var files: Int
        public var bytes: Int64
        enum CodingKeys: String, CodingKey {
            case first, last, files
            case bytes = "stored_bytes"
        }
    }

    enum CodingKeys: String, CodingKey {
        case snapshot, id, source, type, file, entries, target, wal
        case storedBytes = "stored_bytes"
        case contentBytes = "content_bytes"
        case recoveryPoint = "recovery_point"
        case recoveryTarget = "recovery_target"
        case movesAside = "moves_aside"
        case selectedEntries = "selected_entries"
        case notes
    }

    /// Plans restoring `source` from the snapshot `selector` names in `repository`.
    /// With `at` and no `selector`: the newest snapshot whose recovery point is at or before
    /// `at` (for a physical PostgreSQL source, the newest base backup finished by then).
    public static func make(
        repository: Repository, selector: SnapshotSelector?, source: String?,
        target: String?, at: Date? = nil
    ) throws -> (RestorePlan, Manifest) {
        let catalog = repository.catalog()
        let chosen: Manifest
        if let selector {
            chosen = try selector.resolve(in: catalog, source: source)
        } else if let at {
            chosen = try latest(in: catalog, source: source, before: at)
        } else {
            chosen = try SnapshotSelector("latest").resolve(in: catalog, source: source)
        }
        let manifest = try repository.manifest(id: chosen.id)
        let component: Manifest.Component
        if let source {
            guard let found = manifest.component(source) else {
                throw LifeboatError(
                    .invalidInput, "snapshot \(manifest.name) has no source \"\(source)\"",
                    fix: "sources in it: \(manifest.components.map(\.source).joined(separator: ", "))")
            }
            component = found
        } else if manifest.components.count == 1 {
            component = manifest.components[0]
        } else {
            throw LifeboatError(
                .invalidInput, "snapshot \(manifest.name) has several sources",
                fix: "name one with --source: \(manifest.components.map(\.source).joined(separator: ", "))")
        }
        guard SourceAdapters.named(component.type) != nil else {
            throw LifeboatError(.invalidInput, "source \"\(component.source)\" is of type \(component.type), which this build cannot restore")
        }
        let plan = RestorePlan(
            snapshot: manifest.name, id: manifest.id, source: component.source, type: component.type,
            file: component.chunkList.map { "chunk list \($0.prefix(16))…" } ?? component.file, storedBytes: component.bytes,
            contentBytes: component.contentBytes,
            entries: component.entries.count, target: target, recoveryPoint: manifest.recoveryPoint(of: component.source))
        return (plan, manifest)
    }

    /// The newest snapshot with `source` whose recovery point is at or before `time`; a damaged
    /// manifest that may be a better fit is an integrity error, never skipped.
    static func latest(in catalog: SnapshotCatalog, source: String?, before time: Date) throws -> Manifest {
        let chosen = try latest(in: catalog.snapshots, source: source, before: time)
        let chosenPoint = Timestamp.parse(chosen.recoveryPoint(of: source)) ?? .distantPast
        let blocking = catalog.damaged.filter { d in
            guard d.mayHold(source) else { return false }
            guard let point = d.claimedRecoveryPoint else { return true }
            return point <= time && point >= chosenPoint
        }
        if !blocking.isEmpty {
            throw SnapshotSelector.damage(blocking, meaning: "the snapshot for \(Timestamp.rfc3339(time, fractional: true))", fallback: chosen)
        }
        return chosen
    }

    /// The newest snapshot with `source` whose recovery point is at or before `time`.
    static func latest(in snapshots: [Manifest], source: String?, before time: Date) throws -> Manifest {
        let candidates = snapshots.filter { source == nil || $0.component(source!) != nil }
        // Each source by its own capture moment: a snapshot whose Chroma was copied after T may
        // still hold a Redis forked before T.
        func point(_ m: Manifest) -> Date? { Timestamp.parse(m.recoveryPoint(of: source)) }
        let fitting = candidates.filter { (point($0) ?? .distantFuture) <= time }
        guard let newest = fitting.max(by: { (point($0)!, $0.id) < (point($1)!, $1.id) }) else {
            let scope = source.map { " of source \"\($0)\"" } ?? ""
            let oldest =
                candidates.min { (point($0) ?? .distantFuture) < (point($1) ?? .distantFuture) }
                .map { "; the oldest\(scope) reflects \($0.recoveryPoint(of: source))" } ?? ""
            throw LifeboatError(
                .invalidInput, "no snapshot\(scope) reflects a moment at or before \(Timestamp.rfc3339(time, fractional: true))\(oldest)",
                fix: "choose a later --at")
        }
        return newest
    }

    /// Adds the WAL a physical PostgreSQL recovery may read: from the base backup's first
    /// segment to the last archived one (to its own last segment for `immediate`).
    public mutating func planRecovery(_ recovery: RecoveryTarget, component: Manifest.Component, archive: WALArchive) throws {
        recoveryTarget = recovery.summary
        let recorded = PostgresMetadata(component)
        guard let start = recorded.startWAL, let from = WALArchive.position(of: start) else { return }
        let stop = recorded.stopWAL.flatMap { WALArchive.position(of: $0) }
        let files = try archive.all().filter { file in
            guard let position = WALArchive.position(of: file.name) else { return false }
            if case .immediate = recovery.kind, let stop { return position >= from && position <= stop }
            return position >= from
        }
        wal = WALRange(
            first: files.first?.name ?? start, last: files.last?.name ?? start, files: files.count,
            bytes: files.reduce(0) { $0 + $1.storedBytes })
    }
}
