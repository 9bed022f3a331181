import Foundation

/// The content-addressed store of a format-2 repository: every chunk once, compressed and (in an
/// encrypted repository) sealed on its own, appended to packs of about `packTarget` bytes; index
/// files map chunk id → pack, offset and lengths. Opening it reads every index file; `add` stores
/// only what the repository does not hold yet; `flush` writes the last pack and then one index
/// file for the packs this store wrote (packs durable first, index second, manifest last: the
/// commit protocol of docs/FORMAT.md).
final class ChunkStore {
    let repository: Repository
    let compression: Compression
    let packTarget: Int
    /// Index files that could not be read: their chunks are stored again rather than trusted.
    private(set) var damagedIndexFiles: [String] = []

    /// Every indexed pack, by number (its name held as 32 bytes, not as hex).
    private var packs: [(name: ChunkId, size: UInt64)] = []
    /// The index files read (names), damaged ones excluded.
    private(set) var indexFiles: [String] = []
    /// The packs (names) each index file read names.
    private(set) var packsOfIndexFile: [String: [String]] = [:]
    private var index = ChunkIndex()
    /// The pack being filled, named by its hash once full.
    private var pending: PackBuilder?
    private var pendingSize: Int { pending?.size ?? 0 }
    private var pendingIds = Set<ChunkId>()
    private var written = IndexFile()
    private let idKey: [UInt8]?
    private var cachedPack: (name: String, bytes: [UInt8])?

    /// What this store added and reused (for the manifest and `--json`).
    struct Statistics: Sendable, Equatable {
        var newChunks = 0
        var newPlainBytes: Int64 = 0
        var newStoredBytes: Int64 = 0
        var reusedChunks = 0
        var reusedPlainBytes: Int64 = 0

        /// What was added since `earlier` (one component's share of a store several use).
        func since(_ earlier: Statistics) -> Statistics {
            Statistics(
                newChunks: newChunks - earlier.newChunks, newPlainBytes: newPlainBytes - earlier.newPlainBytes,
                newStoredBytes: newStoredBytes - earlier.newStoredBytes, reusedChunks: reusedChunks - earlier.reusedChunks,
                reusedPlainBytes: reusedPlainBytes - earlier.reusedPlainBytes)
        }
    }
    private(set) var statistics = Statistics()
    /// When set, `commit` leaves full packs for the caller to take (`takeFullPack`).
    var deferPackWrites = false

    static let defaultPackTarget = 16 << 20
    /// An index file is written once the packs written since the last one hold this many chunks
    /// (and at `flush`), so no index file, and no decoding of one, grows with the repository.
    static let indexFileChunks = 65_536

    init(repository: Repository, compression: Compression = .default, packTarget: Int = ChunkStore.defaultPackTarget) throws {
        self.repository = repository
        self.compression = compression
        self.packTarget = packTarget
        idKey = repository.keys.map { keys in
            let secret = keys.symmetricKey ?? keys.publicKey ?? []
            return HKDF.sha256(ikm: secret, salt: Array(repository.config.id.utf8), info: Array("lifeboat-v2 chunk id".utf8))
        }
        // Object Lock: prune deletes a pack once its own lock ends, even while an older index file
        // that names it is still locked (and cannot be deleted); such entries are not indexed, so
        // no backup reuses a chunk whose pack is gone. Listed first: a pack written after the
        // listing only has its chunks stored again (prune, which deletes, holds the exclusive lock).
        let present = repository.config.objectLock == nil ? nil : Set(try repository.storage.list("packs/").map { PackFile.name(ofKey: $0.key) })
        let objects = try repository.storage.list("index/")
        index.reserve(Int(objects.reduce(0) { $0 + $1.size }) / IndexFile.entrySize)  // once, not per file
        for object in objects {
            let name = String(object.key.dropFirst("index/".count))
            do {
                guard let bytes = try repository.storage.get(object.key) else { continue }  // removed meanwhile
                guard SHA256Hasher.hex(of: bytes) == name else { throw LifeboatError(.integrity, "index file \(name) does not match its name") }
                try merge(bytes, name: name, present: present)
                indexFiles.append(name)
            } catch let error as LifeboatError where error.code == .integrity {
                damagedIndexFiles.append(name)
            }
        }
        packsAtOpen = packs.count
    }

    /// Indexes one index file's packs and chunks (only the chunks of packs in `present`, when
    /// given); nothing of it when it fails to decode.
    private func merge(_ bytes: [UInt8], name: String, present: Set<String>?) throws {
        let first = packs.count
        var filePacks: [IndexFile.Pack] = []
        var fileEntries: [(Int, PackFile.Entry)] = []
        try IndexFile.decode(bytes, name: name, packs: { filePacks = $0 }, entry: { fileEntries.append(($0, $1)) })
        if let present { fileEntries.removeAll { $0.0 < filePacks.count && !present.contains(filePacks[$0.0].name) } }
        // Every record is checked before any is indexed: a store never indexes half a file.
        let records: [ChunkIndex.Record]
        do {
            records = try fileEntries.map { number, entry in try ChunkIndex.record(entry, pack: first + number) }
        } catch let error as LifeboatError {
            throw LifeboatError(.integrity, "index file \(name): \(error.message)")
        }
        packs += filePacks.map(Self.compact)
        for record in records { try index.add(record) }
        packsOfIndexFile[name] = filePacks.map(\.name)
    }

    /// The id of `bytes`: SHA-256, or HMAC-SHA256 under the id key when encrypted.
    func id(of bytes: UnsafeRawBufferPointer) -> ChunkId {
        if let idKey { return ChunkId(bytes: HMACSHA256.mac(idKey, bytes)) }
        let hasher = SHA256Hasher()
        hasher.update(bytes)
        return ChunkId(bytes: hasher.finalizeBytes())
    }

    func contains(_ id: ChunkId) -> Bool { index.find(id) != nil || pendingIds.contains(id) || sealingIds.contains(id) }

    /// Chunks of packs taken by `takeFullPack` and not yet registered: stored, as far as
    /// deduplication is concerned.
    private var sealingIds = Set<ChunkId>()

    /// A full pack taken out of the store, to be hashed and written without holding the store
    /// (so other threads keep checking and appending chunks meanwhile).
    typealias TakenPack = PackBuilder

    /// The pending pack once it is full, or nil (`write` adds its trailer).
    func takeFullPack() -> TakenPack? {
        pendingSize >= packTarget ? takePack() : nil
    }

    /// The pending pack, whatever its size (nil when it is empty).
    private func takePack() -> TakenPack? {
        guard let taken = pending, !taken.entries.isEmpty else { return nil }
        pending = nil
        sealingIds.formUnion(pendingIds)
        pendingIds.removeAll()
        return taken
    }

    /// Ends a taken pack with its trailer and commits it durably under its hash (touches no
    /// store state: call it unlocked).
    func write(_ taken: TakenPack) throws -> IndexFile.Pack {
        try taken.finish().pack
    }

    /// Records a written pack: its chunks become readable and go into the next index file,
    /// which is written once it names `indexFileChunks` chunks.
    func register(_ pack: IndexFile.Pack, _ taken: TakenPack) throws {
        let number = packs.count
        packs.append(Self.compact(pack))
        for entry in taken.entries { try index.add(entry, pack: number) }
        written.packs.append(pack)
        written.entries.append(taken.entries)
        writtenChunks += taken.entries.count
        for entry in taken.entries { sealingIds.remove(entry.id) }
        if writtenChunks >= Self.indexFileChunks { try writeIndexFile() }
    }
    private var writtenChunks = 0

    private func writeIndexFile() throws {
        guard !written.packs.isEmpty else { return }
        let bytes = written.encoded()
        try repository.storage.put("index/\(SHA256Hasher.hex(of: bytes))", bytes)
        written = IndexFile()
        writtenChunks = 0
    }

    func location(of id: ChunkId) -> (pack: IndexFile.Pack, entry: PackFile.Entry)? {
        index.find(id).map { (pack(Int($0.pack)), $0.entry) }
    }

    /// Stores `bytes` unless the repository holds them already (compressed with `compression`,
    /// the store's by default); returns their id. Called on the caller's thread with no chunking
    /// sink running, it writes a full pack itself even when `deferPackWrites` is set.
    @discardableResult
    func add(_ bytes: UnsafeRawBufferPointer, kind: PackFile.Kind = .data, compression: Compression? = nil) throws -> ChunkId {
        let id = id(of: bytes)
        try commit(contains(id) ? .reused(id: id, plainLength: bytes.count) : try prepare(bytes, id: id, kind: kind, compression: compression))
        if let full = takeFullPack() { try register(try write(full), full) }
        return id
    }

    /// A chunk ready to append: compressed and sealed (`new`), or known already (`reused`).
    enum Prepared {
        case new(entry: PackFile.Entry, stored: [UInt8])
        case reused(id: ChunkId, plainLength: Int)

        var id: ChunkId {
            switch self {
            case .new(let entry, _): entry.id
            case .reused(let id, _): id
            }
        }
    }

    /// Compresses (with `compression`, the store's by default) and seals a chunk; touches no
    /// mutable state, so workers run it in parallel.
    func prepare(_ bytes: UnsafeRawBufferPointer, id: ChunkId, kind: PackFile.Kind = .data, compression: Compression? = nil) throws -> Prepared {
        let compression = compression ?? self.compression
        let codec = kind == .chunkList ? PackFile.Codec.none : PackFile.Codec(compression)
        var stored = codec == .none ? Array(bytes) : try BlobCodec.compress(bytes, compression)
        if let keys = repository.keys, kind == .data {  // chunk lists stay readable: prune and plain verify need no key
            guard keys.canSeal else { throw keys.missingKey("a backup") }
            stored = try SealedObject.seal(stored, keys: keys)
        }
        guard bytes.count <= ChunkIndex.maxLength, stored.count <= ChunkIndex.maxLength else {
            throw LifeboatError(.operationFailed, "a chunk of \(bytes.count) bytes is too large for a pack")
        }
        return .new(
            entry: .init(kind: kind, codec: codec, id: id, offset: 0, storedLength: UInt32(stored.count), plainLength: UInt32(bytes.count)),
            stored: stored)
    }

    /// Appends a prepared chunk to the pending pack (unless another copy was appended since it
    /// was prepared), writing the pack once it is full.
    func commit(_ prepared: Prepared) throws {
        switch prepared {
        case .new(let entry, let stored) where !contains(entry.id):
            if pending == nil { pending = try PackBuilder(storage: repository.storage) }
            try stored.withUnsafeBytes { try pending!.append(entry, stored: $0) }
            pendingIds.insert(entry.id)
            statistics.newChunks += 1
            statistics.newPlainBytes += Int64(entry.plainLength)
            statistics.newStoredBytes += Int64(stored.count)
            if pendingSize >= packTarget && !deferPackWrites { try writePack() }
        case .new(let entry, _):
            statistics.reusedChunks += 1
            statistics.reusedPlainBytes += Int64(entry.plainLength)
            noteReuse(entry.id)
        case .reused(let id, let length):
            statistics.reusedChunks += 1
            statistics.reusedPlainBytes += Int64(length)
            noteReuse(id)
        }
    }

    /// Packs written before this store opened that hold chunks it reused: what a new snapshot
    /// refers to besides the packs it writes (their Object Lock must cover it too).
    private var reusedPacks = Set<Int>()
    private var packsAtOpen = 0

    private func noteReuse(_ id: ChunkId) {
        if let found = index.find(id), Int(found.pack) < packsAtOpen { reusedPacks.insert(Int(found.pack)) }
    }

    /// The keys of the packs (written earlier) that chunks reused since this store opened are in.
    var reusedPackKeys: [String] { reusedPacks.sorted().map { PackFile.key(packs[$0].name.hex) } }

    /// For each pack key (`packs/…`), the keys (`index/…`) of the index files read that name it:
    /// how a pack is found.
    func indexKeysByPack() -> [String: [String]] {
        var naming: [String: [String]] = [:]
        for (file, packs) in packsOfIndexFile {
            for pack in packs { naming[PackFile.key(pack), default: []].append("index/\(file)") }
        }
        return naming
    }

    /// The keys of the index files read that name any of `packKeys`: what a snapshot needs to
    /// find its chunks, besides the packs themselves.
    func indexKeys(naming packKeys: Set<String>) -> [String] {
        let naming = indexKeysByPack()
        return Set(packKeys.flatMap { naming[$0] ?? [] }).sorted()
    }

    /// Writes the pending pack (durably, under its hash) and the index file for every pack this
    /// store wrote. After it returns, every id `add` gave is readable by a new `ChunkStore`.
    func flush() throws {
        try writePack()
        try writeIndexFile()
    }

    private func writePack() throws {
        guard let taken = takePack() else { return }
        try register(try write(taken), taken)
    }

    /// The plaintext of chunk `id`, proved: its pack matches its name, the blob opens and
    /// decompresses to the indexed length, and (unless `proveId` is false) its id is recomputed. `pack` gives a pack's
    /// proved bytes (a prefetcher's); by default it is read here, the last one kept.
    /// `proveId: false` (a restore's stream, whose entries are each proven by their SHA-256 and
    /// whose packs by their names) skips hashing the plaintext once more.
    func read(_ id: ChunkId, pack source: ((IndexFile.Pack) throws -> [UInt8])? = nil, proveId: Bool = true) throws -> [UInt8] {
        guard let (pack, entry) = location(of: id) else {
            throw LifeboatError(.integrity, "chunk \(id.hex.prefix(16))… is in no index file of \(repository.location)")
        }
        let bytes = try source?(pack) ?? packBytes(pack)
        let start = Int(entry.offset)
        let end = start + Int(entry.storedLength)
        guard end <= bytes.count else { throw LifeboatError(.integrity, "pack \(pack.name.prefix(16))… is shorter than its index says") }
        var stored = Array(bytes[start..<end])
        let what = "chunk \(id.hex.prefix(16))… in pack \(pack.name.prefix(16))…"
        if let keys = repository.keys, entry.kind == .data {
            guard keys.canOpen else { throw keys.missingKey("reading stored data") }
            do {
                stored = try SealedObject.open(stored, keys: keys)
            } catch let error as LifeboatError {
                throw LifeboatError(.integrity, "\(what): \(error.message)")
            }
        }
        let plain = try BlobCodec.decompress(stored, codec: entry.codec, length: Int(entry.plainLength), what: what)
        guard !proveId || plain.withUnsafeBytes({ self.id(of: $0) }) == id else {
            throw LifeboatError(.integrity, "\(what) does not match its id")
        }
        return plain
    }

    /// The ids a component's chunk list names, each checked against the index and the stored
    /// packs (`packSizes`: name → size as listed): what plain `verify` proves without reading data.
    func checkReferences(list: ChunkId, packSizes: [String: Int64]) throws -> Int {
        let ids = try listedChunks(list)
        for (number, id) in ids.enumerated() {
            guard let (pack, _) = location(of: id) else {
                throw LifeboatError(.integrity, "chunk \(number + 1) of \(ids.count) (\(id.hex.prefix(16))…) is in no index file")
            }
            guard let size = packSizes[pack.name] else {
                throw LifeboatError(.integrity, "chunk \(number + 1) of \(ids.count) is in pack \(pack.name.prefix(16))…, which is missing")
            }
            guard UInt64(size) == pack.size else {
                throw LifeboatError(.integrity, "pack \(pack.name.prefix(16))… is \(size) bytes, the index says \(pack.size)")
            }
        }
        return ids.count
    }

    /// Every indexed pack (a pack named by two index files appears twice) with its entries.
    var indexedPacks: [(pack: IndexFile.Pack, entries: [PackFile.Entry])] {
        Array(zip(packs.indices.map(pack), index.entriesByPack(packs: packs.count)))
    }

    /// How many distinct packs the index names (without grouping their entries).
    var indexedPackCount: Int { Set(packs.map(\.name)).count }

    private static func compact(_ pack: IndexFile.Pack) -> (name: ChunkId, size: UInt64) {
        (ChunkId(hex: pack.name)!, pack.size)  // index files and `write` name packs by 64 hex digits
    }

    private func pack(_ number: Int) -> IndexFile.Pack {
        IndexFile.Pack(name: packs[number].name.hex, size: packs[number].size)
    }

    /// The ids a chunk list names (proved like any chunk).
    func listedChunks(_ list: ChunkId) throws -> [ChunkId] {
        try ChunkList.decode(try read(list), id: list)
    }

    /// Every stored pack and its size.
    func storedPacks() throws -> [String: Int64] {
        var sizes: [String: Int64] = [:]
        for object in try repository.storage.list("packs/") { sizes[PackFile.name(ofKey: object.key)] = object.size }
        return sizes
    }

    /// A whole pack, proved by its name; the last one read is kept (streams read packs in order).
    private func packBytes(_ pack: IndexFile.Pack) throws -> [UInt8] {
        if let cachedPack, cachedPack.name == pack.name { return cachedPack.bytes }
        let bytes = try fetch(pack)
        cachedPack = (pack.name, bytes)
        return bytes
    }

    /// A whole pack read from storage and proved by its name; touches no store state, so a
    /// prefetcher calls it on threads of its own.
    func fetch(_ pack: IndexFile.Pack) throws -> [UInt8] {
        try Self.fetch(pack, from: repository)
    }

    /// The same, without a store (and its index) at hand: prune's repacking.
    static func fetch(_ pack: IndexFile.Pack, from repository: Repository) throws -> [UInt8] {
        guard let bytes = try repository.storage.get(PackFile.key(pack.name)) else {
            throw LifeboatError(.integrity, "pack \(pack.name.prefix(16))… is missing from \(repository.location)")
        }
        guard SHA256Hasher.hex(of: bytes) == pack.name else {
            throw LifeboatError(.integrity, "pack \(pack.name.prefix(16))… is damaged: its bytes do not match its name")
        }
        return bytes
    }
}
