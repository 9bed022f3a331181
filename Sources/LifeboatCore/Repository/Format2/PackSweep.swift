/// Prune's part in a format-2 repository: marks every chunk a manifest needs (its components'
/// chunk lists, of the stream and of the entries, and every chunk they name), then removes packs
/// that hold none of them and packs no index names (a killed backup's), and rewrites the index
/// as files naming the packs kept (each at most `ChunkStore.indexFileChunks` chunks).
///
/// Order, so a kill at any point leaves a repository that verifies clean and a later prune
/// finishes: (1) the new index files are written (old and new together name the same packs);
/// (2) the old index files are deleted (the packs to remove are now unindexed, needed by
/// nobody); (3) those packs are deleted. Partly used packs are kept whole (repacking is the fleet
/// issue's). The caller holds the repository lock, so no backup is writing packs meanwhile.
struct PackSweep {
    let repository: Repository

    struct Plan {
        var newIndex: [IndexFile]
        var obsoleteIndexFiles: [String]
        /// `packs/…` keys to delete and their sizes.
        var packs: [(key: String, size: Int64)]
        var keptPacks: Int
        var bytes: Int64 { packs.reduce(0) { $0 + $1.size } }
    }

    /// What prune would do; refuses (integrity) when an index file is damaged or a needed chunk
    /// is not indexed: deleting on a partial view could delete what a snapshot needs.
    func plan(snapshots: [Manifest]) throws -> Plan {
        let store = try ChunkStore(repository: repository)
        guard store.damagedIndexFiles.isEmpty else {
            throw LifeboatError(.integrity, "prune needs every index file readable; damaged: " + store.damagedIndexFiles.prefix(3).joined(separator: ", "),
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
                    throw LifeboatError(.integrity, "prune cannot mark snapshot \(snapshot.name), component \(component.source): \(error.message)",
                                        fix: "run `lifeboat verify`; nothing was removed")
                }
            }
        }
        var index: [IndexFile] = []
        var kept = Set<String>()
        var chunks = ChunkStore.indexFileChunks
        for (pack, entries) in store.indexedPacks where !kept.contains(pack.name) && entries.contains(where: { used.contains($0.id) }) {
            kept.insert(pack.name)
            if chunks + entries.count > ChunkStore.indexFileChunks && chunks > 0 {
                index.append(IndexFile())
                chunks = 0
            }
            index[index.count - 1].packs.append(pack)
            index[index.count - 1].entries.append(entries)
            chunks += entries.count
        }
        var packs: [(key: String, size: Int64)] = []
        for (name, size) in try store.storedPacks() where !kept.contains(name) {
            packs.append((PackFile.key(name), size))  // unused, or in no index at all
        }
        return Plan(newIndex: index, obsoleteIndexFiles: store.indexFiles, packs: packs.sorted { $0.key < $1.key }, keptPacks: kept.count)
    }

    /// Carries `plan` out; returns the keys removed.
    func apply(_ plan: Plan) throws -> [String] {
        guard !plan.packs.isEmpty else { return [] }  // nothing to reclaim: leave the index alone
        var removed: [String] = []
        var newNames = Set<String>()
        for file in plan.newIndex {
            let bytes = file.encoded()
            let name = SHA256Hasher.hex(of: bytes)
            try repository.storage.put("index/\(name)", bytes)
            newNames.insert(name)
        }
        CrashPoint.reach("prune-index-written")
        for name in plan.obsoleteIndexFiles where !newNames.contains(name) {
            try repository.storage.delete("index/\(name)")
            removed.append("index/\(name)")
        }
        CrashPoint.reach("prune-index-replaced")
        for pack in plan.packs {
            try repository.storage.delete(pack.key)
            removed.append(pack.key)
            CrashPoint.reach("prune-pack-deleted")
        }
        return removed
    }
}
