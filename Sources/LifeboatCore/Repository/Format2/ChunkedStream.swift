/// A component's byte stream (its tar stream, uncompressed) in a format-2 repository is written
/// by `ChunkingSink` and read back here by concatenating its chunks, each proved by the store.
/// Its digest, once read to the end, is the chunk list's id and the stream's size: what the
/// manifest records as the component's `sha256` and `bytes`.
final class ChunkedStreamReader: ObjectReader {
    private let store: ChunkStore
    private let ids: [ChunkId]
    private var next = 0
    private var current: [UInt8] = []
    private var offset = 0
    private let list: ChunkId
    private var total: Int64 = 0
    private var ended = false

    private let prefetcher: PackPrefetcher
    private var currentPack: (name: String, bytes: [UInt8])?

    init(store: ChunkStore, list: ChunkId) throws {
        self.store = store
        self.list = list
        ids = try store.listedChunks(list)
        var order: [IndexFile.Pack] = []
        for id in ids {
            guard let (pack, _) = store.location(of: id) else { break }  // `read` reports it when it gets there
            if order.last?.name != pack.name { order.append(pack) }
        }
        // On S3 each pack is a GET that waits on the network: more of them in flight.
        let remote = !store.repository.storage.isLocal
        prefetcher = PackPrefetcher(store: store, packs: order, fetchers: remote ? 3 : 2, depth: remote ? 3 : 2)
    }

    deinit { prefetcher.stop() }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while offset == current.count {
            guard next < ids.count else {
                ended = true
                return 0
            }
            current = try store.read(ids[next]) { [self] pack in
                if let currentPack, currentPack.name == pack.name { return currentPack.bytes }
                let bytes = try prefetcher.next(pack)
                currentPack = (pack.name, bytes)
                return bytes
            }
            next += 1
            offset = 0
        }
        let n = min(buffer.count, current.count - offset)
        current.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
        total += Int64(n)
        offset += n
        return n
    }

    var digest: StoredDigest { StoredDigest(sha256: ended ? list.hex : "", bytes: total) }
    func close() { prefetcher.stop() }
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
