/// The in-memory index of a chunk store: where each chunk is, compact enough for a million
/// chunks in well under 100 MiB (docs/FORMAT.md, "Format 2: memory").
///
/// Every indexed entry sits once in a flat array of 48-byte records; an open-addressing table
/// of 32-bit slots (at most half full) maps an id to its first record. Ids are SHA-256 or
/// HMAC-SHA256 outputs, uniformly spread, so their first eight bytes serve as the hash. A chunk
/// indexed twice (stored again after a damaged index file, or by two writers) keeps both
/// records, so each pack's entries stay complete for prune; lookups find the first.
struct ChunkIndex {
    /// The largest stored or plain length, and the largest offset, a record holds: packs are
    /// about 16 MiB and chunks at most 4 MiB, so only a chunk list of over 33 million chunks
    /// would reach it (and is refused when written).
    static let maxLength = (1 << 30) - 1
    static let maxOffset = Int(UInt32.max)

    /// One indexed entry: a chunk in a pack. The kind and compression ride in the top bits of
    /// the lengths.
    struct Record {
        let id: ChunkId
        let pack: UInt32
        let offset: UInt32
        private let storedAndKind: UInt32
        private let plainAndCodec: UInt32

        init?(_ entry: PackFile.Entry, pack: Int) {
            guard entry.offset <= ChunkIndex.maxOffset, entry.storedLength <= ChunkIndex.maxLength,
                entry.plainLength <= ChunkIndex.maxLength, pack <= Int(UInt32.max)
            else { return nil }
            id = entry.id
            self.pack = UInt32(pack)
            offset = UInt32(entry.offset)
            storedAndKind = entry.storedLength | UInt32(entry.kind.rawValue) << 30
            plainAndCodec = entry.plainLength | UInt32(entry.codec.rawValue) << 30
        }

        var entry: PackFile.Entry {
            PackFile.Entry(
                kind: PackFile.Kind(rawValue: UInt8(storedAndKind >> 30))!, codec: PackFile.Codec(rawValue: UInt8(plainAndCodec >> 30))!,
                id: id, offset: UInt64(offset), storedLength: storedAndKind & UInt32(ChunkIndex.maxLength),
                plainLength: plainAndCodec & UInt32(ChunkIndex.maxLength))
        }
    }

    private(set) var records: [Record] = []
    /// 0: empty; otherwise 1 + the record's position.
    private var slots: [UInt32] = Array(repeating: 0, count: 1024)

    var count: Int { records.count }

    /// Makes room for `more` records without growing meanwhile (a load knows its count).
    mutating func reserve(_ more: Int) {
        records.reserveCapacity(records.count + more)
        var capacity = slots.count
        while (records.count + more) * 2 > capacity { capacity *= 2 }
        if capacity != slots.count { rehash(capacity) }
    }

    /// `entry` as stored in pack number `pack`; refuses (integrity) lengths or an offset beyond
    /// what any pack of this format holds.
    static func record(_ entry: PackFile.Entry, pack: Int) throws -> Record {
        guard let record = Record(entry, pack: pack) else {
            throw LifeboatError(
                .integrity, "chunk \(entry.id.hex.prefix(16))… is indexed at offset \(entry.offset) with \(entry.storedLength) bytes: beyond any pack"
            )
        }
        return record
    }

    /// Indexes `entry` as stored in pack number `pack` (`record(_:pack:)` says what it refuses).
    mutating func add(_ entry: PackFile.Entry, pack: Int) throws {
        try add(try Self.record(entry, pack: pack))
    }

    mutating func add(_ record: Record) throws {
        guard records.count < Int(UInt32.max) - 1 else { throw LifeboatError(.integrity, "the chunk index is full") }
        if (records.count + 1) * 2 > slots.count { rehash(slots.count * 2) }
        let position = records.count
        records.append(record)
        var slot = Int(truncatingIfNeeded: record.id.prefix64) & (slots.count - 1)
        while slots[slot] != 0 {
            if records[Int(slots[slot]) - 1].id == record.id { return }  // indexed already: the first stays
            slot = (slot + 1) & (slots.count - 1)
        }
        slots[slot] = UInt32(position + 1)
    }

    /// The first record of `id`.
    func find(_ id: ChunkId) -> Record? {
        var slot = Int(truncatingIfNeeded: id.prefix64) & (slots.count - 1)
        while slots[slot] != 0 {
            let record = records[Int(slots[slot]) - 1]
            if record.id == id { return record }
            slot = (slot + 1) & (slots.count - 1)
        }
        return nil
    }

    /// Every record grouped by pack number (`packs` of them), in the order indexed.
    func entriesByPack(packs: Int) -> [[PackFile.Entry]] {
        var grouped = Array(repeating: [PackFile.Entry](), count: packs)
        for record in records { grouped[Int(record.pack)].append(record.entry) }
        return grouped
    }

    private mutating func rehash(_ capacity: Int) {
        var fresh = [UInt32](repeating: 0, count: capacity)
        for value in slots where value != 0 {
            var slot = Int(truncatingIfNeeded: records[Int(value) - 1].id.prefix64) & (capacity - 1)
            while fresh[slot] != 0 { slot = (slot + 1) & (capacity - 1) }
            fresh[slot] = value
        }
        slots = fresh
    }
}
