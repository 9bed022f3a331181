import Foundation
import LifeboatTestSupport
import Testing

@testable import LifeboatCore

/// A format-2 stream whose reader holds some chunks already (a delta restore's unchanged
/// files): the packs holding only those chunks are never fetched, every other entry still reads
/// and proves its content, the stream still ends proven, and reading a held entry instead of
/// passing over it is an integrity failure, never zeros written as data.
@Suite struct HeldChunksTests {
    /// A repository on the in-memory storage holding one snapshot of `a-small.txt`,
    /// `b-read.bin` (4 MiB) and `c-held.bin` (36 MiB, packs of its own).
    static func snapshot() async throws -> (Repository, MemoryStorage, Manifest, ScratchDirectory) {
        let scratch = ScratchDirectory("held-chunks")
        scratch.write("source/a-small.txt", "small\n")
        try Data(StorageConformance.bytes(4 << 20, seed: 7)).write(to: URL(fileURLWithPath: scratch.path + "/source/b-read.bin"))
        try Data(StorageConformance.bytes(36 << 20, seed: 9)).write(to: URL(fileURLWithPath: scratch.path + "/source/c-held.bin"))
        let storage = MemoryStorage()
        let repository = try Repository.create(in: storage, format: 2)
        let runner = BackupRunner(repository: repository, progress: ProgressLine(enabled: false))
        let written = try await runner.run(
            sources: [FilesAdapter(name: "cfg", path: scratch.path + "/source")], schedule: "manual",
            compression: .zstd(level: 1), policyPath: nil, command: "test backup"
        ).manifest
        return (repository, storage, try repository.manifest(id: written.id), scratch)  // with its entries
    }

    @Test func packsHoldingOnlyHeldChunksAreNotFetched() async throws {
        let (repository, storage, manifest, scratch) = try await Self.snapshot()
        _ = scratch
        let component = try #require(manifest.component("cfg"))
        let held = try #require(component.entries.first { $0.path == "c-held.bin" })
        let chunks = try #require(held.chunks)
        let heldRange = chunks[0]..<(chunks[0] + chunks[1])

        // The packs whose every chunk of this stream is one of c-held.bin's.
        let store = try ChunkStore(repository: repository)
        let ids = try store.listedChunks(try #require(try component.chunkListId()))
        var usedBy: [String: Set<Bool>] = [:]
        for (number, id) in ids.enumerated() {
            let pack = try #require(store.location(of: id)).pack.name
            usedBy[pack, default: []].insert(heldRange.contains(number))
        }
        let heldOnly = Set(usedBy.filter { $0.value == [true] }.keys)
        #expect(heldOnly.count >= 1, "the held file fills a pack of its own: \(usedBy)")

        let before = storage.keysRead.count
        let reader = try ComponentReader(repository: repository, snapshot: manifest, component: component)
        #expect(reader.hold { heldRange.contains($0) })
        var contents: [String: Int] = [:]
        while let entry = try reader.next() {
            if entry.record.path == "c-held.bin" {
                try reader.skipProvenData()
            } else {
                var size = 0
                try reader.readData { size += $0.count }  // proven against the manifest's SHA-256
                contents[entry.record.path] = size
            }
        }
        #expect(contents["b-read.bin"] == 4 << 20 && contents["a-small.txt"] == 6)
        #expect(reader.heldBytes >= 36 << 20)
        let packsRead = Set(storage.keysRead[before...].filter { $0.hasPrefix("packs/") }.map { String($0.split(separator: "/").last!) })
        #expect(packsRead.isDisjoint(with: heldOnly), "fetched packs holding only held chunks: \(packsRead.intersection(heldOnly))")
        #expect(!packsRead.isEmpty)
    }

    @Test func readingAHeldEntryFailsItsDigest() async throws {
        let (repository, _, manifest, scratch) = try await Self.snapshot()
        _ = scratch
        let component = try #require(manifest.component("cfg"))
        let chunks = try #require(component.entries.first { $0.path == "c-held.bin" }?.chunks)
        let reader = try ComponentReader(repository: repository, snapshot: manifest, component: component)
        _ = reader.hold { (chunks[0]..<(chunks[0] + chunks[1])).contains($0) }
        var failure: LifeboatError?
        do {
            while let entry = try reader.next() {
                try reader.readData { _ in }
                #expect(entry.record.path != "c-held.bin", "a held entry read as data must fail")
            }
        } catch let error as LifeboatError {
            failure = error
        }
        #expect(failure?.code == .integrity && failure?.message.contains("c-held.bin") == true, "\(String(describing: failure))")
    }
}
