import Foundation
import Testing

@testable import LifeboatCore

@Suite struct ManifestTests {
    static func sample() -> Manifest {
        Manifest(
            format: 1, id: "0123456789abcdef", name: "daily-20261122T020000Z", schedule: "daily", policy: "/p.yaml",
            host: "h", started: "2026-11-22T02:00:00.000Z", finished: "2026-11-22T02:00:05.000Z",
            recoveryPoint: "2026-11-22T02:00:00.000Z", tools: ["lifeboat": "0.1.0"],
            components: [
                .init(
                    source: "cfg", type: "files", file: "data/0123456789abcdef/cfg.tar.zst", compression: "zstd",
                    bytes: 10, sha256: String(repeating: "a", count: 64), contentBytes: 20,
                    entries: [
                        EntryRecord(
                            path: "a", kind: .file, mode: 0o644, mtime: 1, mtimeNanoseconds: 2, size: 20,
                            sha256: String(repeating: "b", count: 64))
                    ],
                    metadata: ["path": .string("/etc/app"), "files": .int(1)], warnings: [])
            ],
            checksum: nil)
    }

    @Test func sealedManifestLoadsBack() throws {
        let bytes = try Self.sample().sealedBytes()
        let loaded = try Manifest.load(Data(bytes), path: "m.json")
        var expected = Self.sample()
        expected.checksum = loaded.checksum
        #expect(loaded == expected)
        #expect(loaded.checksum?.count == 64)
    }

    @Test(arguments: [
        ("\"mode\" : 420", "\"mode\" : 384"),
        ("\"bytes\" : 10", "\"bytes\" : 11"),
        ("daily-20261122T020000Z", "daily-20261122T030000Z"),
        ("\"sha256\" : \"aaaa", "\"sha256\" : \"baaa"),
    ])
    func anyEditedFieldIsCaught(original: String, replacement: String) throws {
        let text = String(decoding: try Self.sample().sealedBytes(), as: UTF8.self)
        #expect(text.contains(original))
        let edited = text.replacingOccurrences(of: original, with: replacement)
        let error = #expect(throws: LifeboatError.self) { try Manifest.load(Data(edited.utf8), path: "m.json") }
        #expect(error?.code == .integrity)
        #expect(error?.message.contains("was modified") == true)
    }

    @Test func missingChecksumAndUnknownFormatAreRefused() throws {
        var unsealed = Self.sample()
        unsealed.checksum = nil
        let plain = try JSONEncoder().encode(unsealed)
        #expect(throws: LifeboatError.self) { try Manifest.load(plain, path: "m.json") }
        var future = Self.sample()
        future.format = 4
        let error = #expect(throws: LifeboatError.self) { try Manifest.load(Data(try future.sealedBytes()), path: "m.json") }
        #expect(error?.message.contains("format 4") == true)
        #expect(throws: LifeboatError.self) { try Manifest.load(Data("{not json".utf8), path: "m.json") }
    }
}
