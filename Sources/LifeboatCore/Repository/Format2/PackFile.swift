/// A pack: stored blobs one after another, then a header listing them, so the index can be
/// rebuilt from the packs alone (docs/FORMAT.md, "Format 2: packs"):
///
///     blob_0 ‖ … ‖ blob_n-1 ‖ header ‖ header length (u32 LE) ‖ "LBP2"
///     header = "LBPH" ‖ count (u32) ‖ count × entry ‖ SHA-256 of everything before it in the header
///     entry  = kind (u8) ‖ compression (u8) ‖ id (32) ‖ offset (u64) ‖ stored length (u32) ‖ plain length (u32)
///
/// A blob is the chunk's plaintext compressed on its own (`compression`), then sealed on its own
/// in an encrypted repository. The header is plaintext: ids (keyed in an encrypted repository),
/// offsets and lengths. A pack is named by the SHA-256 of its bytes: `packs/<2 hex>/<64 hex>`.
enum PackFile {
    static let magic = Array("LBP2".utf8)

    enum Kind: UInt8, Sendable {
        /// A piece of a component's stream.
        case data = 0
        /// A chunk list (the ids of a component's stream, in order).
        case chunkList = 1
    }

    enum Codec: UInt8, Sendable {
        case none = 0, zstd = 1, gzip = 2

        init(_ compression: Compression) {
            switch compression {
            case .none: self = .none
            case .zstd: self = .zstd
            case .gzip: self = .gzip
            }
        }
    }

    struct Entry: Sendable, Equatable {
        var kind: Kind
        var codec: Codec
        var id: ChunkId
        var offset: UInt64
        var storedLength: UInt32
        var plainLength: UInt32
    }

    static func key(_ name: String) -> String { "packs/\(name.prefix(2))/\(name)" }
    /// The pack name of a `packs/…` key.
    static func name(ofKey key: String) -> String { String(key.split(separator: "/").last ?? "") }

    /// The header and trailer that end a pack holding `entries`.
    static func trailer(_ entries: [Entry]) -> [UInt8] {
        var w = BinaryWriter()
        w.raw(Array("LBPH".utf8))
        w.u32(UInt32(entries.count))
        for e in entries {
            w.u8(e.kind.rawValue)
            w.u8(e.codec.rawValue)
            w.raw(e.id.bytes)
            w.u64(e.offset)
            w.u32(e.storedLength)
            w.u32(e.plainLength)
        }
        w.raw(Hex.decode(SHA256Hasher.hex(of: w.bytes))!)
        let length = UInt32(w.bytes.count)
        w.u32(length)
        w.raw(magic)
        return w.bytes
    }

    /// The entries a pack's header lists, proved by the header's own SHA-256 and against the
    /// pack's size (every blob inside the pack, before the header).
    static func entries(ofPack pack: [UInt8], name: String) throws -> [Entry] {
        let what = "pack \(name)"
        guard pack.count >= 8, Array(pack.suffix(4)) == magic else { throw LifeboatError(.integrity, "\(what) does not end with LBP2") }
        var tail = BinaryReader(Array(pack.suffix(8).prefix(4)), what: what)
        let length = Int(try tail.u32())
        guard length >= 40, length <= pack.count - 8 else { throw LifeboatError(.integrity, "\(what): header length \(length) does not fit") }
        let header = Array(pack[(pack.count - 8 - length)..<(pack.count - 8)])
        guard SHA256Hasher.hex(of: header.dropLast(32)) == Hex.encode(header.suffix(32)) else {
            throw LifeboatError(.integrity, "\(what): its header fails its SHA-256")
        }
        var r = BinaryReader(header, end: header.count - 32, what: what)
        try r.expect("LBPH")
        let count = Int(try r.u32())
        let blobsEnd = UInt64(pack.count - 8 - length)
        var entries: [Entry] = []
        for _ in 0..<count {
            guard let kind = Kind(rawValue: try r.u8()), let codec = Codec(rawValue: try r.u8()) else {
                throw LifeboatError(.integrity, "\(what): unknown blob kind or compression")
            }
            let entry = Entry(
                kind: kind, codec: codec, id: ChunkId(bytes: try r.raw(32)), offset: try r.u64(),
                storedLength: try r.u32(), plainLength: try r.u32())
            guard entry.offset + UInt64(entry.storedLength) <= blobsEnd else {
                throw LifeboatError(.integrity, "\(what): blob \(entry.id.hex.prefix(12))… lies outside the pack")
            }
            entries.append(entry)
        }
        guard r.atEnd else { throw LifeboatError(.integrity, "\(what): bytes after its last header entry") }
        return entries
    }
}

/// An index file: which packs hold which chunks (docs/FORMAT.md, "Format 2: index"):
///
///     "LBI2" ‖ packs (u32) ‖ packs × (name (32) ‖ size (u64))
///            ‖ chunks (u32) ‖ chunks × (id (32) ‖ pack number (u32) ‖ kind (u8) ‖ compression (u8)
///                                        ‖ offset (u64) ‖ stored length (u32) ‖ plain length (u32))
///            ‖ SHA-256 of everything before
///
/// Named by the SHA-256 of its bytes: `index/<64 hex>`. Written after its packs are durable and
/// before the manifest that needs them; plaintext, like pack headers.
struct IndexFile: Sendable {
    struct Pack: Sendable, Equatable {
        var name: String
        var size: UInt64
    }

    /// Bytes per chunk in an index file.
    static let entrySize = 54

    var packs: [Pack] = []
    /// Each pack's entries (same order as `packs`).
    var entries: [[PackFile.Entry]] = []

    func encoded() -> [UInt8] {
        var w = BinaryWriter()
        w.raw(Array("LBI2".utf8))
        w.u32(UInt32(packs.count))
        for p in packs {
            w.raw(Hex.decode(p.name)!)
            w.u64(p.size)
        }
        let total = entries.reduce(0) { $0 + $1.count }
        w.u32(UInt32(total))
        for (number, list) in entries.enumerated() {
            for e in list {
                w.raw(e.id.bytes)
                w.u32(UInt32(number))
                w.u8(e.kind.rawValue)
                w.u8(e.codec.rawValue)
                w.u64(e.offset)
                w.u32(e.storedLength)
                w.u32(e.plainLength)
            }
        }
        w.raw(Hex.decode(SHA256Hasher.hex(of: w.bytes))!)
        return w.bytes
    }

    static func decode(_ bytes: [UInt8], name: String) throws -> IndexFile {
        var index = IndexFile()
        try decode(
            bytes, name: name,
            packs: { packs in
                index.packs = packs
                index.entries = Array(repeating: [], count: packs.count)
            }, entry: { index.entries[$0].append($1) })
        return index
    }

    /// Decodes an index file without building it: `packs` gets its packs, then `entry` each
    /// chunk with its pack's number. Proved by its SHA-256 first; a malformed entry after that
    /// throws with the entries before it visited (callers keep what they visit until it returns).
    static func decode(_ bytes: [UInt8], name: String, packs visitPacks: ([Pack]) -> Void, entry visit: (Int, PackFile.Entry) -> Void) throws {
        let what = "index file \(name)"
        guard bytes.count >= 44, SHA256Hasher.hex(of: bytes.dropLast(32)) == Hex.encode(bytes.suffix(32)) else {
            throw LifeboatError(.integrity, "\(what) fails its SHA-256 (damaged or truncated)")
        }
        var r = BinaryReader(bytes, end: bytes.count - 32, what: what)
        try r.expect("LBI2")
        let packCount = Int(try r.u32())
        guard packCount <= bytes.count / 40 else { throw LifeboatError(.integrity, "\(what): implausible pack count") }
        var packs: [Pack] = []
        for _ in 0..<packCount { packs.append(Pack(name: Hex.encode(try r.raw(32)), size: try r.u64())) }
        let count = Int(try r.u32())
        guard count == (r.end - r.at) / 54, (r.end - r.at) % 54 == 0 else {
            throw LifeboatError(.integrity, "\(what): its chunk count does not match its length")
        }
        visitPacks(packs)
        for _ in 0..<count {
            let id = ChunkId(bytes: try r.raw(32))
            let number = Int(try r.u32())
            guard number < packCount, let kind = PackFile.Kind(rawValue: try r.u8()), let codec = PackFile.Codec(rawValue: try r.u8()) else {
                throw LifeboatError(.integrity, "\(what): an entry names an unknown pack, kind or compression")
            }
            visit(number, .init(kind: kind, codec: codec, id: id, offset: try r.u64(), storedLength: try r.u32(), plainLength: try r.u32()))
        }
    }
}

/// A pack being written: blobs streamed to storage as they come (on disk into a temporary file,
/// so no pack is held in memory), then the header, and the pack is committed under its hash.
struct PackBuilder {
    private let writer: any ObjectWriter
    private(set) var entries: [PackFile.Entry] = []
    /// Blob bytes so far.
    private(set) var size = 0

    init(storage: any RepositoryStorage) throws {
        writer = try storage.contentNamedWriter { PackFile.key($0.sha256) }
    }

    /// Appends a stored blob (compressed, sealed) described by `entry`, at the next offset.
    mutating func append(_ entry: PackFile.Entry, stored: UnsafeRawBufferPointer) throws {
        var entry = entry
        entry.offset = UInt64(size)
        try writer.write(stored)
        size += stored.count
        entries.append(entry)
    }

    /// Ends the pack with its header and commits it durably; its name and entries.
    func finish() throws -> (pack: IndexFile.Pack, entries: [PackFile.Entry]) {
        try PackFile.trailer(entries).withUnsafeBytes { try writer.write($0) }
        let digest = try writer.commit()
        return (IndexFile.Pack(name: digest.sha256, size: UInt64(digest.bytes)), entries)
    }
}
