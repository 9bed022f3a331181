import Foundation
import LifeboatCore
import Testing

/// #13 item 12: sparse files keep their holes and hard links stay hard links, through backup,
/// deep verify and restore, on the real filesystem.
@Suite struct SparseAndHardLinkTests {
    static func allocated(_ path: String) -> Int64 {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_blocks) * 512 : -1
    }

    static func sha256(_ path: String) throws -> String {
        SHA256Hasher.hex(of: try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Writes `bytes` at each offset of a new file and sets its size: the rest is holes.
    static func sparseFile(_ path: String, size: Int64, data: [(offset: Int64, bytes: [UInt8])]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o640)
        #expect(fd >= 0)
        defer { close(fd) }
        for (offset, bytes) in data {
            _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
        }
        #expect(ftruncate(fd, off_t(size)) == 0)
    }

    @Test func item12_sparseFilesRestoreWithTheirHoles() throws {
        let box = try Sandbox("sparse")
        let mib: Int64 = 1 << 20
        let image = box.source + "/disk.img"
        let empty = box.source + "/reserved.bin"
        try Self.sparseFile(
            image, size: 256 * mib,
            data: [
                (0, Array(repeating: 0xab, count: 8192)),
                (100 * mib, Array("middle".utf8)),
                (200 * mib, Array(repeating: 0x5a, count: 65536)),
            ])
        try Self.sparseFile(empty, size: 64 * mib, data: [])
        try box.file("dense.txt", Array(repeating: 0x41, count: 100_000))
        #expect(Self.allocated(image) < 2 * mib)  // the filesystem here does hold holes

        try CLI.run(["init", "--repo", box.repo])
        let backup = try CLI.run(["backup", "--policy", box.policy, "--compression", "none", "--json"])
        #expect(backup.status == 0, "\(backup.output)")
        let stored = try #require(((try backup.json() as? [String: Any])?["components"] as? [[String: Any]])?.first?["bytes"] as? Int)
        #expect(stored < 4 << 20, "holes are not stored: \(stored) bytes for 320 MiB of files")
        let show = try CLI.run(["show", "latest", "--repo", box.repo, "--json"])
        #expect(show.stdout.contains("\"sparse\""), "\(show.stdout.prefix(400))")
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0)

        let out = box.root + "/out"
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--to", out])
        #expect(restore.status == 0, "\(restore.output)")
        for name in ["disk.img", "reserved.bin", "dense.txt"] {
            #expect(try Self.sha256(out + "/" + name) == Self.sha256(box.source + "/" + name), "\(name)")
        }
        var st = stat()
        #expect(stat(out + "/disk.img", &st) == 0 && st.st_size == 256 * mib)
        #expect(Self.allocated(out + "/disk.img") < 2 * mib, "restored dense: \(Self.allocated(out + "/disk.img")) bytes allocated")
        #expect(Self.allocated(out + "/reserved.bin") < mib)
        #expect(Self.allocated(out + "/dense.txt") >= 100_000)
    }

    @Test func item12_hardLinksRestoreAsHardLinks() throws {
        let box = try Sandbox("hardlinks")
        try box.file("a/shared.conf", Array("shared content\n".utf8))
        try FileManager.default.createDirectory(atPath: box.source + "/b", withIntermediateDirectories: true)
        #expect(link(box.source + "/a/shared.conf", box.source + "/b/again.conf") == 0)
        #expect(link(box.source + "/a/shared.conf", box.source + "/z-third.conf") == 0)
        try box.file("alone.txt", Array("x".utf8))

        try CLI.run(["init", "--repo", box.repo])
        let backup = try CLI.run(["backup", "--policy", box.policy, "--json"])
        #expect(backup.status == 0, "\(backup.output)")
        let show = try CLI.run(["show", "latest", "--repo", box.repo, "--json"])
        #expect(show.stdout.components(separatedBy: "\"hardlink\"").count - 1 == 2, "\(show.stdout)")
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0)

        let out = box.root + "/out"
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--to", out])
        #expect(restore.status == 0, "\(restore.output)")
        var first = stat()
        var second = stat()
        var third = stat()
        var alone = stat()
        #expect(stat(out + "/a/shared.conf", &first) == 0 && stat(out + "/b/again.conf", &second) == 0 && stat(out + "/z-third.conf", &third) == 0)
        #expect(first.st_ino == second.st_ino && first.st_ino == third.st_ino)
        #expect(first.st_nlink == 3)
        #expect(stat(out + "/alone.txt", &alone) == 0 && alone.st_nlink == 1)
        #expect(try String(contentsOfFile: out + "/b/again.conf", encoding: .utf8) == "shared content\n")
    }

    @Test func aHardLinkToAnythingButAnEarlierFileIsRefused() throws {
        let box = try Sandbox("hostile-hardlink")
        let outside = box.root + "/outside.txt"
        try Data("secret".utf8).write(to: URL(fileURLWithPath: outside))
        let t = timespec(tv_sec: 1_700_000_000, tv_nsec: 0)
        try HostileArchiveTests().craft(in: box) { w in
            try w.addDirectory(path: ".", mode: 0o755, mtime: t)
            try w.addBytes(path: "fine.txt", Array("ok".utf8), mtime: t)
            try w.addHardlink(name: EntryName("grab"), target: EntryName(outside), mode: 0o644, mtime: t)
        }
        let target = box.root + "/target"
        let restore = try CLI.run(["restore", "evil-1", "--repo", box.repo, "--to", target])
        #expect(restore.status == 3, "\(restore.output)")
        #expect(!FileManager.default.fileExists(atPath: target))
        var st = stat()
        #expect(stat(outside, &st) == 0 && st.st_nlink == 1)
        let deep = try CLI.run(["verify", "--repo", box.repo, "--deep"])
        #expect(deep.status == 3 && deep.stderr.contains("hard link") && deep.stderr.contains("grab"), "\(deep.output)")
    }
}
