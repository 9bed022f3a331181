import Foundation

/// A component's entries in a format-2 repository (manifest format 3) are not in its manifest:
/// they are an object of their own, stored in the chunk store like the stream itself, so a
/// manifest stays a few kilobytes whatever the tree holds, listing reads no entries, and an
/// unchanged tree's entries deduplicate against the last snapshot's (docs/FORMAT.md, "Format 2:
/// entry lists").
///
/// The object is JSON Lines: each entry's canonical JSON (sorted keys, the same fields as a
/// format-1 manifest's `entries`) and a newline, in stream order; cut by FastCDC, each chunk
/// compressed and (when encrypted) sealed, then a chunk list whose id the manifest records in
/// `entry_list` with the count. Every chunk is proved by its id when read, and the list by its
/// own, so the manifest's checksum covers the entries through that id.
enum EntryList {
    /// The manifest's reference to a component's entry list.
    struct Reference: Codable, Sendable, Equatable {
        /// The chunk list's id (hex).
        var id: String
        var count: Int
    }

    /// The encoder of one line: canonical JSON (sorted keys).
    static func lineEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Stores `entries` in `store` (the caller flushes it with the rest of the snapshot).
    static func store(_ entries: [EntryRecord], in store: ChunkStore, compression: Compression? = nil) throws -> Reference {
        let encoder = lineEncoder()
        return try self.store(count: entries.count, in: store, compression: compression) { feed in
            for entry in entries {
                var line = Array(try encoder.encode(entry))
                line.append(0x0a)
                try line.withUnsafeBytes { try feed($0) }
            }
        }
    }

    /// Stores the entries a spool wrote (its file, already JSON Lines).
    static func store(_ spool: EntrySpool, in store: ChunkStore) throws -> Reference {
        try self.store(count: spool.count, in: store, compression: nil) { try spool.readBack($0) }
    }

    /// Stores the JSON Lines bytes `produce` feeds: cut by FastCDC, each chunk stored unless held.
    private static func store(
        count: Int, in store: ChunkStore, compression: Compression?,
        _ produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws -> Reference {
        var chunker = FastCDC()
        var ids: [ChunkId] = []
        try produce { bytes in try chunker.push(bytes) { ids.append(try store.add($0, compression: compression)) } }
        try chunker.finish { ids.append(try store.add($0, compression: compression)) }
        let list = ChunkList.encode(ids)
        let id = try list.withUnsafeBytes { try store.add($0, kind: .chunkList) }
        return Reference(id: id.hex, count: count)
    }

    /// The entries `reference` names, each chunk proved; `what` names the component in errors.
    static func load(_ reference: Reference, from store: ChunkStore, what: String) throws -> [EntryRecord] {
        var entries: [EntryRecord] = []
        entries.reserveCapacity(reference.count)
        try forEach(reference, from: store, what: what) { entries.append($0) }
        return entries
    }

    /// Calls `body` with each entry in order, holding one chunk at a time.
    static func forEach(_ reference: Reference, from store: ChunkStore, what: String, _ body: (EntryRecord) throws -> Void) throws {
        guard let list = ChunkId(hex: reference.id) else { throw LifeboatError(.integrity, "\(what): entry list id \(reference.id) is not an id") }
        let decoder = JSONDecoder()
        var count = 0
        var partial: [UInt8] = []
        do {
            for id in try store.listedChunks(list) {
                let chunk = try store.read(id)
                var start = 0
                while let newline = chunk[start...].firstIndex(of: 0x0a) {
                    let line = partial.isEmpty ? Array(chunk[start..<newline]) : partial + chunk[start..<newline]
                    partial.removeAll()
                    try body(try decoder.decode(EntryRecord.self, from: Data(line)))
                    count += 1
                    start = newline + 1
                }
                partial += chunk[start...]
            }
        } catch let error as LifeboatError {
            throw LifeboatError(.integrity, "\(what): its entry list: \(error.message)")
        } catch is DecodingError {
            throw LifeboatError(.integrity, "\(what): its entry list holds an entry that does not decode")
        }
        guard partial.isEmpty, count == reference.count else {
            throw LifeboatError(.integrity, "\(what): its entry list holds \(count) entries, the manifest says \(reference.count)")
        }
    }
}
