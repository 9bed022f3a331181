import Foundation
import Testing

@testable import LifeboatCore

@Suite struct ChunkIndexTests {
    static func id(_ n: Int, salt: String = "") -> ChunkId {
        let hasher = SHA256Hasher()
        hasher.update(Array("\(salt)\(n)".utf8))
        return ChunkId(bytes: hasher.finalizeBytes())
    }

    static func entry(_ id: ChunkId, offset: UInt64) -> PackFile.Entry {
        PackFile.Entry(kind: .data, codec: .zstd, id: id, offset: offset, storedLength: 10, plainLength: 20)
    }

    @Test func everyIndexedIdIsFoundWithItsPackAndNoOtherIdIs() throws {
        var index = ChunkIndex()
        let count = 200_000
        for n in 0..<count { try index.add(Self.entry(Self.id(n), offset: UInt64(n)), pack: n / 1000) }
        #expect(index.count == count)
        for n in stride(from: 0, to: count, by: 7) {
            let record = index.find(Self.id(n))
            #expect(record?.pack == UInt32(n / 1000) && record?.offset == UInt32(n))
        }
        for n in 0..<2000 { #expect(index.find(Self.id(n, salt: "absent")) == nil) }
    }

    @Test func aChunkIndexedTwiceIsFoundInItsFirstPackAndListedInBoth() throws {
        var index = ChunkIndex()
        let shared = Self.id(1)
        try index.add(Self.entry(shared, offset: 5), pack: 0)
        try index.add(Self.entry(Self.id(2), offset: 0), pack: 1)
        try index.add(Self.entry(shared, offset: 9), pack: 1)
        #expect(index.find(shared)?.pack == 0 && index.find(shared)?.offset == 5)
        let grouped = index.entriesByPack(packs: 2)
        #expect(grouped[0].map(\.id) == [shared])
        #expect(grouped[1].map(\.id) == [Self.id(2), shared])
        // Kind, compression and lengths come back as indexed.
        let list = PackFile.Entry(kind: .chunkList, codec: .gzip, id: Self.id(3), offset: 1 << 31, storedLength: 1 << 29, plainLength: 77)
        try index.add(list, pack: 1)
        #expect(index.find(Self.id(3))?.entry == list)
        #expect(MemoryLayout<ChunkIndex.Record>.stride == 48)
    }

    @Test func idsKeepTheirBytesAndOrder() {
        let a = Self.id(1)
        let b = Self.id(2)
        #expect(ChunkId(bytes: a.bytes) == a)
        #expect(ChunkId(hex: a.hex) == a && a.hex.count == 64)
        #expect((a < b) == a.bytes.lexicographicallyPrecedes(b.bytes))
    }

    /// A store writing more chunks than one index file holds writes several, and a new store
    /// finds every chunk through them.
    @Test func aLargeBackupWritesSeveralBoundedIndexFiles() throws {
        let scratch = ScratchDirectory("index")
        let repository = try Repository.create(at: scratch.path + "/repo", format: 2)
        let store = try ChunkStore(repository: repository, packTarget: 64 << 10)
        let count = ChunkStore.indexFileChunks + 5000
        var ids: [ChunkId] = []
        for n in 0..<count {
            let bytes = Array("chunk \(n)".utf8)
            ids.append(try bytes.withUnsafeBytes { try store.add($0) })
        }
        try store.flush()
        let files = try repository.storage.list("index/")
        #expect(files.count == 2)
        let reopened = try ChunkStore(repository: repository)
        #expect(ids.allSatisfy { reopened.location(of: $0) != nil })
        #expect(try reopened.read(ids[count - 1]) == Array("chunk \(count - 1)".utf8))
    }

    /// A stream over many packs reads back exactly through the prefetcher, packs read ahead in
    /// order; a pack deleted mid-stream is an integrity error when the stream reaches it.
    @Test func aStreamOverManyPacksReadsBackInOrderAndAMissingPackIsNamed() throws {
        let scratch = ScratchDirectory("prefetch")
        let repository = try Repository.create(at: scratch.path + "/repo", format: 2)
        let store = try ChunkStore(repository: repository, compression: .none, packTarget: 64 << 10)
        var chunks: [[UInt8]] = []
        for n in 0..<200 { chunks.append(Array(repeating: UInt8(n % 251), count: 5000 + n)) }
        var ids: [ChunkId] = []
        for chunk in chunks { ids.append(try chunk.withUnsafeBytes { try store.add($0) }) }
        ids += ids.prefix(20)  // a pack read again later in the stream
        let list = try ChunkList.encode(ids).withUnsafeBytes { try store.add($0, kind: .chunkList) }
        try store.flush()
        #expect(try repository.storage.list("packs/").count > 10)

        let reader = try ChunkedStreamReader(store: try ChunkStore(repository: repository), list: list)
        var back: [UInt8] = []
        _ = try reader.forEachChunk { back.append(contentsOf: $0) }
        #expect(back == (chunks + chunks.prefix(20)).flatMap { $0 })
        #expect(reader.digest.sha256 == list.hex)

        let victim = try #require(try repository.storage.list("packs/").dropFirst(5).first)
        try repository.storage.delete(victim.key)
        let broken = try ChunkedStreamReader(store: try ChunkStore(repository: repository), list: list)
        let error = #expect(throws: LifeboatError.self) { _ = try broken.forEachChunk { _ in } }
        #expect(error?.code == .integrity && error?.message.contains("is missing") == true, "\(String(describing: error))")
    }
}
