import Foundation

extension Pruner {
    /// Prune's removals in a repository with S3 Object Lock (docs/append-only.md, "Pruning under
    /// Object Lock"), after the same marking and checks as anywhere: each object prune would
    /// remove goes with every version of it once no lock holds it, and stays as it is, reported
    /// in `held` with its date, while one does. What it removes: `data/<id>/` of forgotten
    /// format-1 snapshots, the versions of forgotten manifests (hidden by `forget`), expired
    /// WAL, and (format 2) packs no snapshot needs and the index files whose locks have ended;
    /// new index files are locked as long as the snapshots that need their packs.
    func removeUnlocked(
        _ locked: LockedDeletion, mode: ObjectLockMode, garbage: [GarbageScan.Item], expiredWAL: [StoredObject], sweeper: PackSweep,
        sweep: PackSweep.Plan?, dryRun: Bool
    ) throws -> Report {
        var keys = locked.hidden(under: "snapshots/")
        for item in garbage where item.kind == .unreferencedData { keys += locked.keys(under: item.name) }
        keys += expiredWAL.map(\.key)
        let free = try locked.removable(keys)
        var sweep = sweep
        if var plan = sweep {
            try sweeper.restrict(&plan, to: locked)
            sweep = plan
        }
        let packs = sweep?.delete.map(\.key) ?? []
        let bytes = (free + packs).reduce(Int64(0)) { $0 + locked.bytes($1) }
        let unfinished = garbage.filter { $0.kind == .incompleteWrite }
        var removed = unfinished.map(\.name) + free + packs
        if !dryRun {
            for item in unfinished {
                CrashPoint.reach("prune-midway")
                try repository.storage.removeIncompleteWrite(item.name)
            }
            _ = try locked.purge(free)
            if let sweep { removed = unfinished.map(\.name) + free + (try sweeper.apply(sweep, progress: progress, locked: (locked, mode))) }
        }
        return Report(removed: removed.sorted(), bytes: bytes, dryRun: dryRun, held: locked.held.sorted { $0.key < $1.key })
    }
}

extension Pruner.Report {
    /// One line on what Object Lock still holds (nil when nothing is): how much, and when the
    /// first and the last lock end.
    public var heldNote: String? {
        guard let held, !held.isEmpty else { return nil }
        let dates = held.map(\.until).sorted()
        let bytes = ProgressLine.bytes(held.reduce(0) { $0 + $1.bytes })
        let when = dates.first == dates.last ? "until \(dates[0])" : "until \(dates[0]) to \(dates[dates.count - 1])"
        return "kept \(held.count) item\(held.count == 1 ? "" : "s") (\(bytes)) that are still locked (\(when)): a prune after that removes them"
    }
}
