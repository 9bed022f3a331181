import Foundation
import LifeboatCore
import Testing

/// A repository can be written by someone else (a compromised backup host, a crafted file).
/// Restore must never write outside its target, whatever the archive and manifest say.
@Suite struct HostileArchiveTests {
    /// Builds a sealed, self-consistent snapshot whose entries are written by `body`.
    func craft(in box: Sandbox, _ body: (ArchiveWriter) throws -> Void) throws {
        try CLI.run(["init", "--repo", box.repo])
        let id = "00000000deadbeef"
        try FileManager.default.createDirectory(atPath: box.repo + "/data/\(id)", withIntermediateDirectories: true)
        let file = "data/\(id)/cfg.tar"
        let writer = try ArchiveWriter(output: try DiskStorage(root: box.repo).writer(file), compression: .none)
        try body(writer)
        let stored = try writer.finish()
        let now = Timestamp.rfc3339(Date())
        let manifest = Manifest(
            format: 1, id: id, name: "evil-1", schedule: "evil", policy: nil, host: "x", started: now,
            finished: now, recoveryPoint: now, tools: [:],
            components: [
                .init(
                    source: "cfg", type: "files", file: file, compression: "none", bytes: stored.bytes,
                    sha256: stored.sha256, contentBytes: writer.contentBytes, entries: writer.entries,
                    metadata: [:], warnings: [])
            ],
            checksum: nil)
        try Data(try manifest.sealedBytes()).write(to: URL(fileURLWithPath: box.repo + "/snapshots/\(id).json"))
    }

    static let t = timespec(tv_sec: 1_700_000_000, tv_nsec: 0)

    @Test(arguments: ["../escaped.txt", "/tmp/lifeboat-absolute-escape.txt", "a/../../escaped.txt"])
    func pathsOutsideTheTargetAreRefused(path: String) throws {
        let box = try Sandbox("hostile")
        try craft(in: box) { w in
            try w.addDirectory(path: ".", mode: 0o755, mtime: Self.t)
            try w.addBytes(path: "fine.txt", Array("ok".utf8), mtime: Self.t)
            try w.addBytes(path: path, Array("pwned".utf8), mtime: Self.t)
        }
        let target = box.root + "/restore/target"
        let result = try CLI.run(["restore", "evil-1", "--repo", box.repo, "--to", target])
        #expect(result.status == 3, "\(result.output)")
        #expect(result.stderr.contains("outside the target"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: box.root + "/restore/escaped.txt"))
        #expect(!FileManager.default.fileExists(atPath: box.root + "/escaped.txt"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/lifeboat-absolute-escape.txt"))
        #expect(!FileManager.default.fileExists(atPath: target))
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 3)
    }

    @Test func writingThroughASymlinkIsRefused() throws {
        let box = try Sandbox("symlink")
        let outside = box.root + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try craft(in: box) { w in
            try w.addDirectory(path: ".", mode: 0o755, mtime: Self.t)
            try w.addSymlink(path: "link", target: outside, mode: 0o777, mtime: Self.t)
            try w.addBytes(path: "link/owned.txt", Array("pwned".utf8), mtime: Self.t)
        }
        let target = box.root + "/target"
        let result = try CLI.run(["restore", "evil-1", "--repo", box.repo, "--to", target])
        #expect(result.status == 3, "\(result.output)")
        #expect(result.stderr.contains("symlink"), "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: target))
        // #13 item 6: deep verify applies the same rule, naming the entry.
        let deep = try CLI.run(["verify", "--repo", box.repo, "--deep"])
        #expect(deep.status == 3 && deep.stderr.contains("link/owned.txt"), "\(deep.output)")
    }

    @Test func item6_anEntryStoredTwiceFailsDeepVerify() throws {
        let box = try Sandbox("twice")
        try craft(in: box) { w in
            try w.addDirectory(path: ".", mode: 0o755, mtime: Self.t)
            try w.addBytes(path: "a.txt", Array("one".utf8), mtime: Self.t)
            try w.addBytes(path: "a.txt", Array("two".utf8), mtime: Self.t)
        }
        let deep = try CLI.run(["verify", "--repo", box.repo, "--deep"])
        #expect(deep.status == 3 && deep.stderr.contains("stored twice"), "\(deep.output)")
    }
}
