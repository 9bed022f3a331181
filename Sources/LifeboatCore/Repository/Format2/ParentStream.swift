import Foundation

/// The previous snapshot of a source in a format-2 repository, as a backup reuses it: a file
/// whose size, mtime, ctime and inode are the parent entry's is not read again; its content
/// chunks are the parent's (as restic reuses a parent snapshot's blobs).
struct ParentStream {
    /// The snapshot it comes from (for the manifest's metadata).
    let snapshot: String
    private let entries: [[UInt8]: EntryRecord]
    private let ids: [ChunkId]

    /// The newest snapshot of `host` with a format-2 component of `source` of `type`, or nil.
    /// Another host's files are never a parent: equal sizes, times and inodes there say nothing
    /// about the content here. A write-only host cannot open the parent's sealed entries, so it
    /// reads every file (its chunks still deduplicate).
    static func newest(in repository: Repository, store: ChunkStore, host: String, source: String, type: String) throws -> ParentStream? {
        if let keys = repository.keys, !keys.canOpen { return nil }
        let candidates = repository.catalog().snapshots.filter { snapshot in
            snapshot.host == host && (snapshot.component(source).map { $0.type == type && $0.chunkList != nil } ?? false)
        }
        guard let newest = candidates.last else { return nil }
        var entries: [[UInt8]: EntryRecord] = [:]
        func consider(_ entry: EntryRecord) {
            if entry.kind == .file && entry.chunks?.count == 2 && entry.inode != nil { entries[entry.name.bytes] = entry }
        }
        // Only the files that could be reused are kept (those of 256 KiB or more), read from the
        // entry list one chunk at a time; an older manifest holds its entries itself.
        guard let listed = newest.component(source), let list = try listed.chunkListId() else { return nil }
        if let reference = listed.entryList {
            try EntryList.forEach(reference, from: store, what: "snapshot \(newest.name), component \(source)", consider)
        } else {
            try repository.manifest(id: newest.id).component(source)?.entries.forEach(consider)
        }
        return ParentStream(snapshot: newest.name, entries: entries, ids: try store.listedChunks(list))
    }

    /// The parent's record and content chunks for a file that looks unchanged, or nil.
    func unchanged(_ name: EntryName, size: Int64, mtime: timespec, ctime: timespec, inode: UInt64) -> (EntryRecord, [ChunkId])? {
        guard let entry = entries[name.bytes], let range = entry.chunks, range.count == 2,
            entry.size == size, entry.mtime == Int64(mtime.tv_sec), entry.mtimeNanoseconds == Int64(mtime.tv_nsec),
            entry.ctime == Int64(ctime.tv_sec), entry.ctimeNanoseconds == Int64(ctime.tv_nsec), entry.inode == inode,
            entry.sparse != true, range[0] >= 0, range[1] > 0, range[0] + range[1] <= ids.count
        else { return nil }
        return (entry, Array(ids[range[0]..<(range[0] + range[1])]))
    }
}
