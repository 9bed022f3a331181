import Foundation

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
    /// Zero bytes still to give for a held chunk (read as zeros, not fetched).
    private var zeros = 0
    private let list: ChunkId
    private var total: Int64 = 0
    private var ended = false

    /// Started at the first read, so that a `hold` given before it holds from the first pack.
    private var prefetcher: PackPrefetcher?
    private let startPrefetcher: () -> PackPrefetcher
    /// For each chunk, its pack's position in the prefetcher's order (-1: in no index).
    private let positions: [Int]
    private let held = HeldChunks()
    private var currentPack: (name: String, bytes: [UInt8])?

    /// Whether each chunk's plaintext is hashed against its id as it is read (see `init`).
    private let provesChunks: Bool

    /// `provesChunks: false` for a restore: every entry's content is proven by its SHA-256 and
    /// every header by the manifest (`ComponentReader`), every pack by its name, and an encrypted
    /// chunk by its seal, so hashing each chunk's plaintext again would only cost a second pass
    /// over the data. `verify --deep` proves both.
    init(store: ChunkStore, list: ChunkId, provesChunks: Bool = true) throws {
        self.store = store
        self.list = list
        self.provesChunks = provesChunks
        ids = try store.listedChunks(list)
        var order: [IndexFile.Pack] = []
        var chunksAt: [[Int]] = []
        var positions: [Int] = []
        positions.reserveCapacity(ids.count)
        for (number, id) in ids.enumerated() {
            guard let (pack, _) = store.location(of: id) else {  // `read` reports it when it gets there
                positions.append(-1)
                continue
            }
            if order.last?.name != pack.name {
                order.append(pack)
                chunksAt.append([])
            }
            positions.append(order.count - 1)
            chunksAt[chunksAt.count - 1].append(number)
        }
        self.positions = positions
        let packChunks = chunksAt
        // On S3 each pack is a GET that waits on the network: more of them in flight.
        let remote = !store.repository.storage.isLocal
        startPrefetcher = { [held] in
            PackPrefetcher(
                store: store, packs: order, fetchers: remote ? 3 : 2, depth: remote ? 3 : 2,
                wanted: { position in packChunks[position].contains { !held.holds($0) } })
        }
    }

    deinit { prefetcher?.stop() }

    /// From now on the chunks `holds` names (by their number in the list; it may block until it
    /// knows) read as zeros of their length and are not fetched: the caller has their content
    /// (a delta restore's unchanged files) and must not use what the stream gives for them.
    func hold(_ holds: @escaping @Sendable (Int) -> Bool) { held.set(holds) }

    /// The stream's chunk ids and plain lengths, and the store's id function; nil when a chunk is
    /// in no index (reading reports it).
    var layout: ChunkLayout? {
        var lengths: [Int] = []
        lengths.reserveCapacity(ids.count)
        for id in ids {
            guard let (_, entry) = store.location(of: id) else { return nil }
            lengths.append(Int(entry.plainLength))
        }
        return ChunkLayout(ids: ids, lengths: lengths, id: { [store] in store.id(of: $0) })
    }

    /// The bytes of held chunks passed over so far (not fetched).
    var heldBytes: Int64 { held.bytes }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let prefetcher = self.prefetcher ?? startPrefetcher()
        self.prefetcher = prefetcher
        while offset == current.count && zeros == 0 {
            guard next < ids.count else {
                ended = true
                return 0
            }
            defer { next += 1 }
            offset = 0
            if held.holds(next), let (_, entry) = store.location(of: ids[next]) {
                current = []
                zeros = Int(entry.plainLength)
                held.passed(Int64(zeros))
                continue
            }
            let position = positions[next]
            current = try store.read(
                ids[next],
                pack: { [self] pack in
                    if let currentPack, currentPack.name == pack.name { return currentPack.bytes }
                    let bytes = position >= 0 ? try prefetcher.take(position) : try store.fetch(pack)
                    currentPack = (pack.name, bytes)
                    return bytes
                }, proveId: provesChunks)
        }
        if zeros > 0 {
            let n = min(buffer.count, zeros)
            buffer.baseAddress!.initializeMemory(as: UInt8.self, repeating: 0, count: n)
            zeros -= n
            total += Int64(n)
            return n
        }
        let n = min(buffer.count, current.count - offset)
        current.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
        total += Int64(n)
        offset += n
        return n
    }

    var digest: StoredDigest { StoredDigest(sha256: ended ? list.hex : "", bytes: total) }
    func close() { prefetcher?.stop() }
}

/// Which chunks of a stream its reader holds already (none until `set`); asked from the stream's
/// and the pack fetchers' threads.
final class HeldChunks: @unchecked Sendable {
    private let lock = NSLock()
    private var holds: (@Sendable (Int) -> Bool)?
    private var passedBytes: Int64 = 0

    var bytes: Int64 { lock.withLock { passedBytes } }
    func passed(_ count: Int64) { lock.withLock { passedBytes += count } }

    func set(_ holds: @escaping @Sendable (Int) -> Bool) { lock.withLock { self.holds = holds } }

    func holds(_ chunk: Int) -> Bool {
        guard let holds = lock.withLock({ self.holds }) else { return false }
        return holds(chunk)
    }
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
