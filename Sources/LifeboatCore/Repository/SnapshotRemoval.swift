import Foundation

extension Repository {
    /// Forgets snapshots by removing their manifests (the commit point in reverse): the data they
    /// referenced becomes garbage for `prune`. Caller holds the lock. Durable on return.
    public func forget(ids: [String]) throws {
        if !ids.isEmpty { try requireDeletion(by: "lifeboat forget") }
        for id in ids {
            try storage.delete(Manifest.key(id: id))
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
    /// Format 2: repack packs whose unused share is above this (`--max-unused`, default 5%).
    public var maxUnused = 0.05
    /// Format 2: repack at most this many bytes of packs (`--max-repack-size`).
    public var maxRepackBytes: Int64?
    public var progress: ProgressLine?

    public init(repository: Repository) {
        self.repository = repository
    }

    /// What was (or, with `dryRun`, would be) removed.
    public struct Report: Codable, Sendable {
        public var removed: [String]
        /// Bytes freed: what was removed, less what repacking wrote anew.
        public var bytes: Int64
        public var dryRun: Bool
        /// Format 2: packs rewritten (their needed chunks copied into new packs, then removed).
        public var repacked: [String] = []
        /// Format 2: bytes of needed chunks copied by repacking.
        public var repackedBytes: Int64 = 0
        /// Object Lock: what prune would remove but a lock still holds, with the date after which
        /// a prune can (sorted by key).
        public var held: [Held]?
        enum CodingKeys: String, CodingKey {
            case removed, bytes, repacked, held
            case dryRun = "dry_run"
            case repackedBytes = "repacked_bytes"
        }

        /// An object a lock keeps from being removed.
        public struct Held: Codable, Sendable, Equatable {
            public var key: String
            /// RFC 3339: when its lock ends (the latest of its versions').
            public var until: String
            /// Bytes of all its versions.
            public var bytes: Int64
        }
    }

    /// Removes (or lists, with `dryRun`) the garbage. Refuses, with `.invalidInput`, to run when
    /// snapshots are stamped in the future (see `ClockGuard`), and to remove every byte of data
    /// when no snapshot is left at all (an emptied `snapshots/` must not empty the repository)
    /// unless `all`.
    public func run(dryRun: Bool, clock: ClockGuard? = nil, all: Bool = false) throws -> Report {
        if !dryRun { try repository.requireDeletion(by: "lifeboat prune") }
        let (snapshots, problems) = repository.loadSnapshots()
        if let clock { try clock.check(snapshots, command: "lifeboat prune") }
        guard problems.isEmpty else {
            throw LifeboatError(
                .integrity,
                "prune needs every manifest readable, and \(problems.count) \(problems.count == 1 ? "is" : "are") not: "
                    + problems.prefix(3).map(\.message).joined(separator: "; "),
                fix: "run `lifeboat verify` and repair or move the damaged manifests aside; nothing was removed")
        }
        let garbage = try GarbageScan(repository: repository).items()
        let data = garbage.filter { $0.kind == .unreferencedData }
        if snapshots.isEmpty, !data.isEmpty, !all {
            throw LifeboatError(
                .invalidInput,
                "the repository has no snapshot left but holds data (\(data.count) item\(data.count == 1 ? "" : "s")); "
                    + "prune would delete all of it",
                fix: "if snapshots/ was emptied by accident, restore its manifests first; to really delete everything, rerun with --all")
        }
        let expiredWAL = try WALExpiry(repository: repository).expired(snapshots: snapshots)
        let objectLock = repository.config.objectLock
        let locked = try objectLock.map { _ in
            try LockedDeletion(
                repository: repository,
                prefixes: ["snapshots/", repository.config.format == 2 ? "packs/" : "data/", "index/"] + (expiredWAL.isEmpty ? [] : ["wal/"]))
        }
        // Format 2: packs that no kept snapshot needs (see PackSweep); under Object Lock, dated by
        // the snapshots that need them, and never repacked.
        let sweeper = PackSweep(repository: repository, maxUnused: locked == nil ? maxUnused : .infinity, maxRepackBytes: maxRepackBytes)
        let undated = Date().addingTimeInterval(Double(objectLock?.maxDays ?? 0) * 86_400)
        let sweep =
            repository.config.format == 2
            ? try sweeper.plan(snapshots: snapshots, lockedUntil: locked.map { _ in { $0.lockedUntil ?? undated } }) : nil
        if let sweep, snapshots.isEmpty, !sweep.delete.isEmpty, !all {
            throw LifeboatError(
                .invalidInput,
                "the repository has no snapshot left but holds \(sweep.delete.count) pack\(sweep.delete.count == 1 ? "" : "s"); prune would delete all of them",
                fix: "if snapshots/ was emptied by accident, restore its manifests first; to really delete everything, rerun with --all")
        }
        if let locked, let objectLock {
            return try removeUnlocked(
                locked, mode: objectLock.mode, garbage: garbage, expiredWAL: expiredWAL, sweeper: sweeper, sweep: sweep, dryRun: dryRun)
        }
        let bytes = garbage.reduce(Int64(0)) { $0 + $1.bytes } + expiredWAL.reduce(Int64(0)) { $0 + $1.size } + (sweep?.bytes ?? 0)
        let repacked = sweep.map { $0.repack.map { PackFile.key($0.pack.name) } } ?? []
        var swept: [String] = sweep.map { $0.delete.map(\.key) + repacked } ?? []
        if !dryRun {
            for item in garbage {
                CrashPoint.reach("prune-midway")
                switch item.kind {
                case .incompleteWrite: try repository.storage.removeIncompleteWrite(item.name)
                case .unreferencedData: try repository.storage.deletePrefix(item.name)
                }
            }
            try repository.storage.delete(expiredWAL.map(\.key))
            if let sweep { swept = try sweeper.apply(sweep, progress: progress) }
        }
        return Report(
            removed: (garbage.map(\.name) + expiredWAL.map(\.key) + swept).sorted(), bytes: bytes, dryRun: dryRun,
            repacked: repacked, repackedBytes: sweep?.repack.reduce(0) { $0 + $1.liveBytes } ?? 0)
    }
}
