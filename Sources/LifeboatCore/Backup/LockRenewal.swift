import Foundation

/// S3 Object Lock: a snapshot that retention keeps longer than its lock said (later backups
/// failed, so nothing newer pushes it out; or `max_days` capped its date) gets its lock extended
/// before it runs out. `run` does this after its retention step, for the snapshots that step
/// keeps whose lock ends within the margin (at least a day): each gets the date `SnapshotLock`
/// gives it now (when retention would forget it if backups ran on time from now on, plus the
/// margin, at most `max_days` ahead), and at least twice that threshold from now, on its packs
/// and the index files naming them (format 1: its stored files), then on its manifest, last:
/// the manifest's own lock says the renewal is done, so a run killed midway is finished by the
/// next. Locks only grow.
struct LockRenewal {
    let repository: Repository
    let s3: S3Storage
    let config: ObjectLockConfig
    let policy: Policy
    var progress: ProgressLine?

    /// nil when the repository has no Object Lock.
    init?(repository: Repository, policy: Policy) {
        guard let config = repository.config.objectLock, let s3 = repository.storage as? S3Storage else { return nil }
        self.repository = repository
        self.s3 = s3
        self.config = config
        self.policy = policy
    }

    /// Renews the locks of the `kept` snapshots (by id) that need it; returns their names.
    func run(snapshots: [Manifest], kept: Set<String>, now: Date = Date()) throws -> [String] {
        let threshold = Double(max(config.marginDays, 1)) * 86_400
        let soon = now.addingTimeInterval(threshold)
        var due: [(snapshot: Manifest, until: Date)] = []
        for snapshot in snapshots where kept.contains(snapshot.id) && (snapshot.lockedUntil ?? .distantPast) < soon {
            let current = try s3.objectLock(snapshot.key)?.until ?? .distantPast
            guard current < soon else { continue }  // renewed by an earlier run
            // At least twice the threshold ahead, so a snapshot kept by failing backups is renewed
            // once per threshold, not by every run.
            let until = max(
                SnapshotLock.date(
                    config: config, policy: policy, schedule: snapshot.schedule, sources: snapshot.components.map(\.source),
                    host: snapshot.host, started: snapshot.time, tags: snapshot.tags ?? [], snapshots: snapshots.filter { $0.id != snapshot.id },
                    now: now),
                now.addingTimeInterval(2 * threshold))
            if until > current { due.append((snapshot, until)) }
        }
        guard !due.isEmpty else { return [] }
        let store = repository.config.format == 2 ? try ChunkStore(repository: repository) : nil
        for (number, (snapshot, until)) in due.enumerated() {
            var keys = Set<String>()
            for component in snapshot.components { keys.formUnion(try component.storedKeys(store: store)) }
            keys.formUnion(store?.indexKeys(naming: keys) ?? [])
            for (i, key) in keys.sorted().enumerated() {
                progress?.update("object lock: renewing snapshot \(number + 1) of \(due.count), object \(i + 1) of \(keys.count)")
                try s3.extendObjectLock(key, mode: config.mode, until: until)
            }
            try s3.extendObjectLock(snapshot.key, mode: config.mode, until: until)
        }
        progress?.clear()
        return due.map(\.snapshot.name)
    }
}
