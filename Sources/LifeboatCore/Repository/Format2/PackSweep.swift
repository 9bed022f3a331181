import Foundation

/// Prune's part in a format-2 repository. It marks every chunk a manifest needs (its components'
/// chunk lists, of the stream and of the entries, and every chunk they name). A needed chunk's
/// copy is the one the index finds first (its home); other copies, such as the ones hosts that
/// backed up at the same time each stored, are unused. Then each pack is:
/// - deleted when it holds no home copy of a needed chunk (and any pack no index names, a killed
///   backup's or a killed prune's);
/// - repacked when the unused share of its blob bytes is above `maxUnused`: its home copies are
///   copied, as stored (compressed and sealed, so no key is needed), into new packs, and the old
///   pack is deleted; at most `maxRepackBytes` of packs per prune;
/// - kept whole otherwise.
/// The index is rewritten as files naming the packs kept and the new ones (each at most
/// `ChunkStore.indexFileChunks` chunks).
///
/// Order, so a kill at any point leaves a repository that verifies clean and a later prune
/// finishes: (1) the new packs are written (unindexed, so a kill leaves them to the next prune);
/// (2) the new index files are written (old and new together: every chunk still found, some
/// twice); (3) the old index files are deleted (the packs to remove are now unindexed, needed by
/// nobody); (4) those packs are deleted. The caller holds the exclusive lock, so no backup is
/// writing packs or reusing chunks meanwhile.
struct PackSweep {
    let repository: Repository
    /// Repack a pack whose unused share (of its blob bytes) is above this.
    var maxUnused = 0.05
    /// Repack at most this many bytes of packs in one prune (nil: no limit).
    var maxRepackBytes: Int64?

    init(repository: Repository, maxUnused: Double = 0.05, maxRepackBytes: Int64? = nil) {
        self.repository = repository
        self.maxUnused = maxUnused
        self.maxRepackBytes = maxRepackBytes
    }

    struct Repack {
        var pack: IndexFile.Pack
        /// The home copies to carry over.
        var live: [PackFile.Entry]
        var liveBytes: Int64 { live.reduce(0) { $0 + Int64($1.storedLength) } }
    }

    struct Plan {
        /// Packs kept whole, with all their entries.
        var kept: [(pack: IndexFile.Pack, entries: [PackFile.Entry])]
        var repack: [Repack]
        var obsoleteIndexFiles: [String]
        /// `packs/…` keys deleted outright (no needed chunk, or in no index) and their sizes.
        var delete: [(key: String, size: Int64)]
        /// The packs (names) each index file names.
        var packsOfIndexFile: [String: [String]] = [:]
        /// Object Lock: the latest `locked_until` of the snapshots that need each kept pack
        /// (pack name → date), which the new index file naming it is locked until.
        var neededUntil: [String: Date] = [:]
        /// Bytes freed: packs deleted and repacked, less what the repacking writes anew.
        var bytes: Int64 {
            delete.reduce(0) { $0 + $1.size } + repack.reduce(0) { $0 + Int64($1.pack.size) - $1.liveBytes }
        }
        var changesNothing: Bool { delete.isEmpty && repack.isEmpty }
    }

    /// What prune would do; refuses (integrity) when an index file is damaged or a needed chunk
    /// is not indexed: deleting on a partial view could delete what a snapshot needs. With
    /// `lockedUntil` (Object Lock) it also dates each kept pack by the snapshots that need it.
    func plan(snapshots: [Manifest], lockedUntil: ((Manifest) -> Date)? = nil) throws -> Plan {
        let store = try ChunkStore(repository: repository)
        guard store.damagedIndexFiles.isEmpty else {
            throw LifeboatError(
                .integrity, "prune needs every index file readable; damaged: " + store.damagedIndexFiles.prefix(3).joined(separator: ", "),
                fix: "run `lifeboat verify`; nothing was removed")
        }
        var used = Set<ChunkId>()
        var chunkNeededUntil: [ChunkId: Date] = [:]
        for snapshot in snapshots {
            let until = lockedUntil?(snapshot)
            func mark(_ id: ChunkId) {
                used.insert(id)
                if let until, until > chunkNeededUntil[id] ?? .distantPast { chunkNeededUntil[id] = until }
            }
            for component in snapshot.components {
                do {
                    for list in try component.chunkLists() {  // the stream's and the entries'
                        mark(list)
                        for id in try store.listedChunks(list) {
                            guard store.location(of: id) != nil else {
                                throw LifeboatError(.integrity, "chunk \(id.hex.prefix(16))… is in no index file")
                            }
                            mark(id)
                        }
                    }
                } catch let error as LifeboatError {
                    throw LifeboatError(
                        .integrity, "prune cannot mark snapshot \(snapshot.name), component \(component.source): \(error.message)",
                        fix: "run `lifeboat verify`; nothing was removed")
                }
            }
        }
        var plan = Plan(kept: [], repack: [], obsoleteIndexFiles: store.indexFiles, delete: [], packsOfIndexFile: store.packsOfIndexFile)
        var seen = Set<String>()
        var outcome: [String: Bool] = [:]  // pack name → kept (true) or removed (false)
        var repackBudget = maxRepackBytes ?? .max
        for (pack, entries) in store.indexedPacks where seen.insert(pack.name).inserted {
            let live = entries.filter { used.contains($0.id) && store.location(of: $0.id)?.pack.name == pack.name }
            guard !live.isEmpty else {
                outcome[pack.name] = false
                continue
            }
            let blobBytes = entries.reduce(Int64(0)) { $0 + Int64($1.storedLength) }
            let liveBytes = live.reduce(Int64(0)) { $0 + Int64($1.storedLength) }
            let unused = blobBytes > 0 ? Double(blobBytes - liveBytes) / Double(blobBytes) : 0
            if unused > maxUnused && Int64(pack.size) <= repackBudget {
                repackBudget -= Int64(pack.size)
                plan.repack.append(Repack(pack: pack, live: live))
                outcome[pack.name] = false
            } else {
                plan.kept.append((pack, entries))
                outcome[pack.name] = true
                if lockedUntil != nil { plan.neededUntil[pack.name] = live.compactMap { chunkNeededUntil[$0.id] }.max() }
            }
        }
        let repacked = Set(plan.repack.map(\.pack.name))
        for (name, size) in try store.storedPacks() where outcome[name] != true && !repacked.contains(name) {
            plan.delete.append((PackFile.key(name), size))  // unused, or in no index at all
        }
        plan.delete.sort { $0.key < $1.key }
        return plan
    }

    /// Object Lock (docs/append-only.md, "Pruning under Object Lock"): narrows `plan` to what no
    /// lock holds. A pack is deleted once every version of it is past its lock, even while an
    /// index file that names it is still locked and stays: stores opened in an Object Lock
    /// repository index only packs that exist (`ChunkStore`), so no backup reuses a chunk that
    /// is gone. The kept packs such a file names stay found through it and are not indexed
    /// again. Held packs are recorded in `locked.held`. Nothing is repacked under Object Lock
    /// (the old copy would stay until its lock ends: repacking would only cost space), so the
    /// caller plans with no repacking.
    func restrict(_ plan: inout Plan, to locked: LockedDeletion) throws {
        precondition(plan.repack.isEmpty, "no repacking under Object Lock")
        var staying = Set<String>()  // index files still locked
        for file in plan.obsoleteIndexFiles where try locked.lockedUntil("index/\(file)") != nil { staying.insert(file) }
        let stillIndexed = Set(staying.flatMap { plan.packsOfIndexFile[$0] ?? [] })
        let free = Set(try locked.removable(plan.delete.map(\.key)))
        plan.delete = plan.delete.filter { free.contains($0.key) }
        plan.kept = plan.kept.filter { !stillIndexed.contains($0.pack.name) }
        plan.obsoleteIndexFiles = plan.obsoleteIndexFiles.filter { !staying.contains($0) }
    }

    /// Carries `plan` out; returns the keys removed. `progress` hears about each pack repacked.
    /// With `locked` (Object Lock; the plan `restrict`ed to it) each new index file is locked
    /// until the latest date of the packs it names (files are cut where that day changes, so an
    /// index file is not locked much longer than its packs), and objects are removed with every
    /// version.
    func apply(_ plan: Plan, progress: ProgressLine? = nil, locked: (deletion: LockedDeletion, mode: ObjectLockMode)? = nil) throws -> [String] {
        guard !plan.changesNothing else { return [] }  // nothing to reclaim: leave the index alone
        let storage = repository.storage
        let remove: ([String]) throws -> Void = { keys in
            if let locked { _ = try locked.deletion.purge(keys) } else { try storage.delete(keys) }
        }
        var written: [(pack: IndexFile.Pack, entries: [PackFile.Entry])] = []
        var builder: PackBuilder?
        for (number, repack) in plan.repack.enumerated() {
            progress?.update("prune: repacking pack \(number + 1) of \(plan.repack.count)")
            let bytes = try ChunkStore.fetch(repack.pack, from: repository)  // proved by its name
            for entry in repack.live {
                let start = Int(entry.offset)
                let end = start + Int(entry.storedLength)
                guard end <= bytes.count else {
                    throw LifeboatError(.integrity, "pack \(repack.pack.name.prefix(16))… is shorter than its index says")
                }
                if builder == nil { builder = try PackBuilder(storage: storage) }
                try bytes.withUnsafeBytes { try builder!.append(entry, stored: UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
                if builder!.size >= ChunkStore.defaultPackTarget {
                    written.append(try builder!.finish())
                    builder = nil
                }
            }
        }
        if let last = builder { written.append(try last.finish()) }
        progress?.clear()
        CrashPoint.reach("prune-repack-written")

        var toIndex = plan.kept + written
        // Object Lock: the day (its end, UTC) each pack is needed until; files ordered by it.
        let day: (IndexFile.Pack) -> Date? = { pack in
            guard locked != nil, let date = plan.neededUntil[pack.name] else { return nil }
            return Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 86_400).rounded(.up) * 86_400)
        }
        if locked != nil { toIndex.sort { (day($0.pack) ?? .distantFuture) < (day($1.pack) ?? .distantFuture) } }
        var index: [(file: IndexFile, until: Date?)] = []
        var chunks = ChunkStore.indexFileChunks
        for (pack, entries) in toIndex {
            if (chunks + entries.count > ChunkStore.indexFileChunks && chunks > 0) || (locked != nil && day(pack) != index.last?.until) {
                index.append((IndexFile(), day(pack)))
                chunks = 0
            }
            index[index.count - 1].file.packs.append(pack)
            index[index.count - 1].file.entries.append(entries)
            chunks += entries.count
        }
        var removed: [String] = []
        var newNames = Set<String>()
        defer { locked?.deletion.s3.retention.clear() }
        for (file, until) in index {
            if let locked {
                // A pack no snapshot dates (none should be) is locked as long as a new snapshot could be.
                let floor = locked.deletion.now.addingTimeInterval(86_400)
                locked.deletion.s3.retention.set(locked.mode, until: max(until ?? floor, floor))
            }
            let bytes = file.encoded()
            let name = SHA256Hasher.hex(of: bytes)
            try storage.put("index/\(name)", bytes)
            newNames.insert(name)
        }
        CrashPoint.reach("prune-index-written")
        let obsolete = plan.obsoleteIndexFiles.filter { !newNames.contains($0) }.map { "index/\($0)" }
        try remove(obsolete)
        removed += obsolete
        CrashPoint.reach("prune-index-replaced")
        // A pack written just now can have the name of one a killed prune left unindexed (the
        // same blobs): it is indexed now, not garbage.
        let fresh = Set(written.map { PackFile.key($0.pack.name) })
        let packs = (plan.delete.map(\.key) + plan.repack.map({ PackFile.key($0.pack.name) })).filter { !fresh.contains($0) }
        // In batches of 100, so a kill midway (crash point prune-pack-deleted) leaves some deleted.
        for start in stride(from: 0, to: packs.count, by: 100) {
            let batch = Array(packs[start..<min(packs.count, start + 100)])
            try remove(batch)
            removed += batch
            CrashPoint.reach("prune-pack-deleted")
        }
        return removed
    }
}
