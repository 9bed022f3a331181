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
        /// Bytes freed: packs deleted and repacked, less what the repacking writes anew.
        var bytes: Int64 {
            delete.reduce(0) { $0 + $1.size } + repack.reduce(0) { $0 + Int64($1.pack.size) - $1.liveBytes }
        }
        var changesNothing: Bool { delete.isEmpty && repack.isEmpty }
    }

    /// What prune would do; refuses (integrity) when an index file is damaged or a needed chunk
    /// is not indexed: deleting on a partial view could delete what a snapshot needs.
    func plan(snapshots: [Manifest]) throws -> Plan {
        let store = try ChunkStore(repository: repository)
        guard store.damagedIndexFiles.isEmpty else {
            throw LifeboatError(
                .integrity, "prune needs every index file readable; damaged: " + store.damagedIndexFiles.prefix(3).joined(separator: ", "),
                fix: "run `lifeboat verify`; nothing was removed")
        }
        var used = Set<ChunkId>()
        for snapshot in snapshots {
            for component in snapshot.components {
                do {
                    for list in try component.chunkLists() {  // the stream's and the entries'
                        used.insert(list)
                        for id in try store.listedChunks(list) {
                            guard store.location(of: id) != nil else {
                                throw LifeboatError(.integrity, "chunk \(id.hex.prefix(16))… is in no index file")
                            }
                            used.insert(id)
                        }
                    }
                } catch let error as LifeboatError {
                    throw LifeboatError(
                        .integrity, "prune cannot mark snapshot \(snapshot.name), component \(component.source): \(error.message)",
                        fix: "run `lifeboat verify`; nothing was removed")
                }
            }
        }
        var plan = Plan(kept: [], repack: [], obsoleteIndexFiles: store.indexFiles, delete: [])
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
            }
        }
        let repacked = Set(plan.repack.map(\.pack.name))
        for (name, size) in try store.storedPacks() where outcome[name] != true && !repacked.contains(name) {
            plan.delete.append((PackFile.key(name), size))  // unused, or in no index at all
        }
        plan.delete.sort { $0.key < $1.key }
        return plan
    }

    /// Carries `plan` out; returns the keys removed. `progress` hears about each pack repacked.
    func apply(_ plan: Plan, progress: ProgressLine? = nil) throws -> [String] {
        guard !plan.changesNothing else { return [] }  // nothing to reclaim: leave the index alone
        let storage = repository.storage
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

        var index: [IndexFile] = []
        var chunks = ChunkStore.indexFileChunks
        for (pack, entries) in plan.kept + written {
            if chunks + entries.count > ChunkStore.indexFileChunks && chunks > 0 {
                index.append(IndexFile())
                chunks = 0
            }
            index[index.count - 1].packs.append(pack)
            index[index.count - 1].entries.append(entries)
            chunks += entries.count
        }
        var removed: [String] = []
        var newNames = Set<String>()
        for file in index {
            let bytes = file.encoded()
            let name = SHA256Hasher.hex(of: bytes)
            try storage.put("index/\(name)", bytes)
            newNames.insert(name)
        }
        CrashPoint.reach("prune-index-written")
        let obsolete = plan.obsoleteIndexFiles.filter { !newNames.contains($0) }.map { "index/\($0)" }
        try storage.delete(obsolete)
        removed += obsolete
        CrashPoint.reach("prune-index-replaced")
        // A pack written just now can have the name of one a killed prune left unindexed (the
        // same blobs): it is indexed now, not garbage.
        let fresh = Set(written.map { PackFile.key($0.pack.name) })
        let packs = (plan.delete.map(\.key) + plan.repack.map({ PackFile.key($0.pack.name) })).filter { !fresh.contains($0) }
        // In batches of 100, so a kill midway (crash point prune-pack-deleted) leaves some deleted.
        for start in stride(from: 0, to: packs.count, by: 100) {
            let batch = Array(packs[start..<min(packs.count, start + 100)])
            try storage.delete(batch)
            removed += batch
            CrashPoint.reach("prune-pack-deleted")
        }
        return removed
    }
}
