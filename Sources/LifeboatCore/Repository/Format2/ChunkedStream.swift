/// A component's byte stream (its tar stream, uncompressed) in a format-2 repository: written by
/// cutting it with FastCDC into the chunk store, read back by concatenating its chunks. The
/// stream's own SHA-256 and size are what the manifest records (`sha256`, `bytes`), so a restore
/// proves the reassembled stream exactly as it proves a format-1 stored file.
final class ChunkedStreamWriter: ObjectWriter {
    private let store: ChunkStore
    private var chunker = FastCDC()
    private var ids: [ChunkId] = []
    private let digest = StoredBytesDigest()
    /// The chunk list's id, once committed.
    private(set) var listId: ChunkId?
    var statistics: ChunkStore.Statistics { store.statistics }

    init(store: ChunkStore) {
        self.store = store
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        digest.update(bytes)
        try chunker.push(bytes) { ids.append(try store.add($0)) }
    }

    func commit() throws -> StoredDigest {
        try chunker.finish { ids.append(try store.add($0)) }
        let list = ChunkList.encode(ids)
        listId = try list.withUnsafeBytes { try store.add($0, kind: .chunkList) }
        try store.flush()
        return digest.finish()
    }

    func abort() {}  // packs already written are unreferenced until a manifest names them
}

/// Reads a component's stream back, chunk by chunk, each proved by the store.
final class ChunkedStreamReader: ObjectReader {
    private let store: ChunkStore
    private let ids: [ChunkId]
    private var next = 0
    private var current: [UInt8] = []
    private var offset = 0
    private let hashed = StoredBytesDigest()

    init(store: ChunkStore, list: ChunkId) throws {
        self.store = store
        ids = try ChunkList.decode(try store.read(list), id: list)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while offset == current.count {
            guard next < ids.count else { _ = hashed.finish(); return 0 }
            current = try store.read(ids[next])
            next += 1
            offset = 0
        }
        let n = min(buffer.count, current.count - offset)
        current.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
        hashed.update(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<n]))
        offset += n
        return n
    }

    var digest: StoredDigest { hashed.current }
    func close() {}
}

/// A chunk list blob: `"LBL2" ‖ count (u32 LE) ‖ count × id (32)`.
enum ChunkList {
    static func encode(_ ids: [ChunkId]) -> [UInt8] {
        var w = BinaryWriter()
        w.raw(Array("LBL2".utf8))
        w.u32(UInt32(ids.count))
        for id in ids { w.raw(id.bytes) }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8], id: ChunkId) throws -> [ChunkId] {
        var r = BinaryReader(bytes, what: "chunk list \(id.hex.prefix(16))…")
        try r.expect("LBL2")
        let count = Int(try r.u32())
        guard bytes.count == 8 + 32 * count else { throw LifeboatError(.integrity, "chunk list \(id.hex.prefix(16))… has a wrong length") }
        return try (0..<count).map { _ in ChunkId(bytes: try r.raw(32)) }
    }
}
