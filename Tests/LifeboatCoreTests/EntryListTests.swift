import Foundation
import Testing

@testable import LifeboatCore

/// Manifest format 3: a format-2 repository keeps each component's entries in an entry list in
/// the chunk store, and still reads format-2 manifests that hold their entries themselves.
@Suite struct EntryListTests {
    static func entries(_ count: Int) -> [EntryRecord] {
        (0..<count).map { n in
            var entry = EntryRecord(
                name: n % 1000 == 7 ? EntryName(bytes: Array("bad-\(n)-".utf8) + [0xff, 0xfe]) : EntryName("dir/file-\(n).txt"),
                kind: .file, mode: 0o640, mtime: 1_700_000_000 + Int64(n), mtimeNanoseconds: Int64(n),
                size: Int64(n * 3), sha256: SHA256Hasher.hex(of: Array("\(n)".utf8)), target: nil)
            if n % 100 == 0 {
                entry.inode = UInt64(n)
                entry.chunks = [n, 1]
            }
            return entry
        }
    }

    static func manifest(format: Int, id: String, component: Manifest.Component) -> Manifest {
        Manifest(
            format: format, id: id, name: "manual-\(id)", schedule: "manual", policy: nil, host: "h",
            started: "2026-12-01T00:00:0\(id.last!).000Z", finished: "2026-12-01T00:00:09.000Z",
            recoveryPoint: "2026-12-01T00:00:00.000Z", tools: [:], components: [component])
    }

    @Test func entriesSpanningManyChunksComeBackExactlyAndTheManifestStaysSmall() throws {
        let scratch = ScratchDirectory("entries")
        let repository = try Repository.create(at: scratch.path + "/repo", format: 2)
        let store = try ChunkStore(repository: repository)
        let entries = Self.entries(30_000)  // about 6 MB of JSON Lines: several chunks
        let reference = try EntryList.store(entries, in: store)
        try store.flush()
        #expect(reference.count == entries.count)
        #expect(try store.listedChunks(ChunkId(hex: reference.id)!).count > 2)

        var component = Manifest.Component(
            source: "cfg", type: "files", file: "", compression: "zstd", bytes: 1,
            sha256: reference.id, contentBytes: 1, entries: entries, metadata: [:], warnings: [])
        component.entries = []
        component.entryList = reference
        try repository.commit(Self.manifest(format: Manifest.entryListFormat, id: "00000000000000a1", component: component))
        #expect(try repository.storage.get("snapshots/00000000000000a1.json")!.count < 4096)

        let listed = try #require(repository.catalog().snapshots.first)
        #expect(listed.components[0].entries.isEmpty && listed.components[0].entryCount == entries.count)
        #expect(try repository.manifest(id: "00000000000000a1").components[0].entries == entries)

        // A second copy of the same entries stores nothing new.
        let before = store.statistics
        #expect(try EntryList.store(entries, in: store) == reference)
        #expect(store.statistics.newChunks == before.newChunks)
    }

    @Test func aFormat2ManifestWithItsOwnEntriesStillReads() throws {
        let scratch = ScratchDirectory("entries-old")
        let repository = try Repository.create(at: scratch.path + "/repo", format: 2)
        let entries = Self.entries(50)
        let component = Manifest.Component(
            source: "cfg", type: "files", file: "", compression: "zstd", bytes: 1,
            sha256: String(repeating: "0", count: 64), contentBytes: 1, entries: entries, metadata: [:], warnings: [])
        try repository.commit(Self.manifest(format: 2, id: "00000000000000b2", component: component))
        #expect(try repository.manifest(id: "00000000000000b2").components[0].entries == entries)
        #expect(repository.catalog().snapshots.first?.components[0].entryCount == 50)
    }

    @Test func anEntryListThatDisagreesWithTheManifestIsDamage() throws {
        let scratch = ScratchDirectory("entries-bad")
        let repository = try Repository.create(at: scratch.path + "/repo", format: 2)
        let store = try ChunkStore(repository: repository)
        var reference = try EntryList.store(Self.entries(10), in: store)
        try store.flush()
        reference.count = 11
        let error = #expect(throws: LifeboatError.self) { try EntryList.load(reference, from: store, what: "snapshot s, component cfg") }
        #expect(
            error?.code == .integrity && error?.message.contains("holds 10 entries, the manifest says 11") == true, "\(String(describing: error))")
        let missing = EntryList.Reference(id: String(repeating: "ab", count: 32), count: 1)
        let gone = #expect(throws: LifeboatError.self) { try EntryList.load(missing, from: store, what: "snapshot s, component cfg") }
        #expect(gone?.code == .integrity && gone?.message.contains("snapshot s, component cfg") == true)
    }
}
