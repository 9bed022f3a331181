import Foundation

extension Repository {
    /// Forgets snapshots by removing their manifests (the commit point in reverse): the data they
    /// referenced becomes garbage for `prune`. Caller holds the lock. Durable on return.
    public func forget(ids: [String]) throws {
        for id in ids {
            try storage.delete("snapshots/\(id).json")
            CrashPoint.reach("forget-midway")
        }
    }
}

/// Removes what no manifest references: `data/<id>/` of forgotten or never-committed snapshots,
/// unfinished writes, and WAL that no kept base backup needs. Caller holds the lock, so nothing
/// in flight is touched (WAL pushes, which take no lock, get an hour's grace). A kill midway
/// leaves a repository that a later `prune` finishes.
public struct Pruner {
    public let repository: Repository

    public init(repository: Repository) {
        self.repository = repository
    }

    /// What was (or, with `dryRun`, would be) removed.
    public struct Report: Codable, Sendable {
        public var removed: [String]
        public var bytes: Int64
        public var dryRun: Bool
        enum CodingKeys: String, CodingKey {
            case removed, bytes
            case dryRun = "dry_run"
        }
    }

    /// Removes (or lists, with `dryRun`) the garbage. Refuses, with `.invalidInput`, to run when
    /// snapshots are stamped in the future (see `ClockGuard`), and to remove every byte of data
    /// when no snapshot is left at all (an emptied `snapshots/` must not empty the repository)
    /// unless `all`.
    public func run(dryRun: Bool, clock: ClockGuard? = nil, all: Bool = false) throws -> Report {
        let (snapshots, problems) = repository.loadSnapshots()
        if let clock { try clock.check(snapshots, command: "lifeboat prune") }
        guard problems.isEmpty else {
            throw LifeboatError(.integrity, "prune needs every manifest readable, and \(problems.count) \(problems.count == 1 ? "is" : "are") not: "
                                + problems.prefix(3).map(\.message).joined(separator: "; "),
                                fix: "run `lifeboat verify` and repair or move the damaged manifests aside; nothing was removed")
        }
        let garbage = try GarbageScan(repository: repository).items()
        let data = garbage.filter { $0.kind == .unreferencedData }
        if snapshots.isEmpty, !data.isEmpty, !all {
            throw LifeboatError(.invalidInput, "the repository has no snapshot left but holds data (\(data.count) item\(data.count == 1 ? "" : "s")); "
                                + "prune would delete all of it",
                                fix: "if snapshots/ was emptied by accident, restore its manifests first; to really delete everything, rerun with --all")
        }
        let expiredWAL = try WALExpiry(repository: repository).expired(snapshots: snapshots)
        // Format 2: packs that no kept snapshot needs (see PackSweep).
        let sweep = repository.config.format == 2 ? try PackSweep(repository: repository).plan(snapshots: snapshots) : nil
        if let sweep, snapshots.isEmpty, !sweep.packs.isEmpty, !all {
            throw LifeboatError(.invalidInput, "the repository has no snapshot left but holds \(sweep.packs.count) pack\(sweep.packs.count == 1 ? "" : "s"); prune would delete all of them",
                                fix: "if snapshots/ was emptied by accident, restore its manifests first; to really delete everything, rerun with --all")
        }
        let bytes = garbage.reduce(Int64(0)) { $0 + $1.bytes } + expiredWAL.reduce(Int64(0)) { $0 + $1.size } + (sweep?.bytes ?? 0)
        var swept: [String] = sweep.map { $0.packs.map(\.key) } ?? []
        if !dryRun {
            for item in garbage {
                CrashPoint.reach("prune-midway")
                switch item.kind {
                case .incompleteWrite: try repository.storage.removeIncompleteWrite(item.name)
                case .unreferencedData: try repository.storage.deletePrefix(item.name)
                }
            }
            for object in expiredWAL { try repository.storage.delete(object.key) }
            if let sweep { swept = try PackSweep(repository: repository).apply(sweep) }
        }
        return Report(removed: (garbage.map(\.name) + expiredWAL.map(\.key) + swept).sorted(), bytes: bytes, dryRun: dryRun)
    }
}
