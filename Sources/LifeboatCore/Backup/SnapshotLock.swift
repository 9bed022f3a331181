import Foundation

/// The S3 Object Lock of a new snapshot (`config.json` → `object_lock`): the date until which
/// every object it is made of is locked: the moment its schedule's retention would forget it if
/// later backups run on time (`RetentionHorizon`, over every (host, source, schedule) group it
/// joins), plus the margin, at most `max_days` from now. The backup sets it on every pack,
/// index file and manifest it writes, and extends the lock of the packs it reuses that end
/// earlier, before its manifest commits: a pack's lock covers its longest-lived snapshot.
struct SnapshotLock {
    let s3: S3Storage
    let mode: ObjectLockMode
    let until: Date

    /// nil when the repository has no Object Lock.
    static func make(
        repository: Repository, policy: Policy?, schedule: String, sources: [String], host: String, started: Date, tags: [String]
    ) throws -> SnapshotLock? {
        guard let config = repository.config.objectLock else { return nil }
        guard let s3 = repository.storage as? S3Storage else {
            throw LifeboatError(.invalidInput, "\(repository.location) has Object Lock in its config but is not on S3")
        }
        let until = date(
            config: config, policy: policy, schedule: schedule, sources: sources, host: host, started: started, tags: tags,
            snapshots: repository.loadSnapshots().snapshots, now: Date())
        return SnapshotLock(s3: s3, mode: config.mode, until: until)
    }

    /// The lock date (see the type); never earlier than `now` plus the margin.
    static func date(
        config: ObjectLockConfig, policy: Policy?, schedule: String, sources: [String], host: String, started: Date, tags: [String],
        snapshots: [Manifest], now: Date
    ) -> Date {
        let day = 86_400.0
        let margin = Double(config.marginDays) * day
        let cap = now.addingTimeInterval(Double(config.maxDays) * day)
        guard let policy, let plan = policy.schedule(schedule), let rules = plan.retention else { return cap }
        let horizon = RetentionHorizon(rules: rules, cron: plan.cron, timeZone: policy.timeZone)
        var kept = started
        for source in sources {
            let group = snapshots.filter { $0.schedule == schedule && $0.host == host && $0.component(source) != nil }
            let times = group.map { Instant.parseRFC3339($0.started) ?? Instant($0.time) } + [Instant(started)]
            let tagged = group.map { m in rules.tags.contains { (m.tags ?? []).contains($0) } } + [rules.tags.contains { tags.contains($0) }]
            kept = max(kept, horizon.keptUntil(times, tagged: tagged).last.flatMap { $0 } ?? started)
        }
        return min(max(kept, now).addingTimeInterval(margin), cap)
    }

    /// From now on, what the storage writes for the snapshot carries the lock.
    func begin() { s3.retention.set(mode, until: until) }
    func end() { s3.retention.clear() }

    /// Extends the locks of `keys` (reused packs and the index files naming them) that end
    /// before `until`; how many it extended.
    func extend(_ keys: [String], progress: ProgressLine) throws -> Int {
        var extended = 0
        for (i, key) in keys.enumerated() {
            progress.update("object lock: checking \(i + 1) of \(keys.count) reused objects")
            if try s3.extendObjectLock(key, mode: mode, until: until) { extended += 1 }
        }
        return extended
    }
}

extension Manifest {
    /// The latest `locked_until` its components record (nil: taken before the repository had
    /// Object Lock, or by an older build).
    var lockedUntil: Date? {
        components.compactMap { component -> Date? in
            if case .string(let text) = component.metadata["locked_until"] { return Timestamp.parse(text) }
            return nil
        }.max()
    }
}

extension Manifest.Component {
    /// The objects its data is stored in: its stored file (format 1), or the packs of its chunk
    /// lists and of every chunk they name (format 2, with the repository's `store`).
    func storedKeys(store: ChunkStore?) throws -> Set<String> {
        var keys: Set<String> = file.isEmpty ? [] : [file]
        guard let store else { return keys }
        for list in try chunkLists() {
            for id in [list] + (try store.listedChunks(list)) {
                if let (pack, _) = store.location(of: id) { keys.insert(PackFile.key(pack.name)) }
            }
        }
        return keys
    }
}
