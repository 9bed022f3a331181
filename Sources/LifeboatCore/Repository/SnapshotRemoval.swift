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

    public func run(dryRun: Bool) throws -> Report {
        let garbage = try GarbageScan(repository: repository).items()
        let expiredWAL = try WALExpiry(repository: repository).expired()
        let bytes = garbage.reduce(Int64(0)) { $0 + $1.bytes } + expiredWAL.reduce(Int64(0)) { $0 + $1.size }
        if !dryRun {
            for item in garbage {
                CrashPoint.reach("prune-midway")
                switch item.kind {
                case .incompleteWrite: try repository.storage.removeIncompleteWrite(item.name)
                case .unreferencedData: try repository.storage.deletePrefix(item.name)
                }
            }
            for object in expiredWAL { try repository.storage.delete(object.key) }
        }
        return Report(removed: (garbage.map(\.name) + expiredWAL.map(\.key)).sorted(), bytes: bytes, dryRun: dryRun)
    }
}
