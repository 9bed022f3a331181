import Foundation
import LifeboatTestSupport
import Testing

@testable import LifeboatCore

/// The delta restore's comparison of the files in place with a format-2 snapshot: a large file
/// is compared chunk by chunk against the stream's chunk ids (both threads sharing it), a small
/// one by its SHA-256; one changed byte anywhere, in its first or last chunk, a changed size, a
/// symlink in its place or a missing file is "changed"; an identical file is "unchanged".
@Suite struct LocalDigestsTests {
    @Test func aLargeFileIsComparedByItsChunksAndEveryDifferenceCounts() async throws {
        let (repository, _, manifest, scratch) = try await HeldChunksTests.snapshot()
        let component = try #require(manifest.component("cfg"))
        let reader = try ComponentReader(repository: repository, snapshot: manifest, component: component)
        let layout = try #require(reader.chunkLayout)
        let source = scratch.path + "/source"
        let big = source + "/c-held.bin"
        let original = try Data(contentsOf: URL(fileURLWithPath: big))

        func verdicts() -> [String: Bool] {
            let local = LocalDigests(datadir: source, entries: component.entries, layout: layout)
            defer { local.cancel() }
            return Dictionary(uniqueKeysWithValues: ["a-small.txt", "b-read.bin", "c-held.bin"].map { ($0, local.unchanged(Array($0.utf8))) })
        }
        #expect(verdicts() == ["a-small.txt": true, "b-read.bin": true, "c-held.bin": true])
        // The large file's verdict comes from its chunks, not the entry's SHA-256.
        var wrongDigests = component.entries
        for i in wrongDigests.indices { wrongDigests[i].sha256 = String(repeating: "0", count: 64) }
        let byChunks = LocalDigests(datadir: source, entries: wrongDigests, layout: layout)
        #expect(byChunks.unchanged(Array("c-held.bin".utf8)) && !byChunks.unchanged(Array("a-small.txt".utf8)))
        byChunks.cancel()

        for position in [0, original.count / 2, original.count - 1] {  // first chunk, middle, last chunk
            var changed = original
            changed[position] ^= 0x01
            try changed.write(to: URL(fileURLWithPath: big))
            #expect(verdicts()["c-held.bin"] == false, "one byte changed at \(position)")
        }
        try (original + Data([0])).write(to: URL(fileURLWithPath: big))
        #expect(verdicts()["c-held.bin"] == false, "one byte longer")
        try original.prefix(original.count - 1).write(to: URL(fileURLWithPath: big))
        #expect(verdicts()["c-held.bin"] == false, "one byte shorter")
        try FileManager.default.removeItem(atPath: big)
        try FileManager.default.createSymbolicLink(atPath: big, withDestinationPath: source + "/b-read.bin")
        #expect(verdicts()["c-held.bin"] == false, "a symlink in its place is never followed")
        try FileManager.default.removeItem(atPath: big)
        #expect(verdicts()["c-held.bin"] == false, "missing")
        try original.write(to: URL(fileURLWithPath: big))
        scratch.write("source/a-small.txt", "Small\n")
        #expect(verdicts() == ["a-small.txt": false, "b-read.bin": true, "c-held.bin": true])
    }
}
