import Foundation
import LifeboatCore
import Testing

/// The archive_command / restore_command contract of `lifeboat wal push|fetch`, on segment files
/// laid out as PostgreSQL 15 writes them (a long page header with the system identifier).
@Suite struct WALArchiveTests {
    /// A 16 MiB segment: magic 0xD110, system identifier at offset 24, then `fill`.
    /// A 16 MiB segment filled with `fill` after a long page header as PostgreSQL 15 writes it:
    /// magic, XLP_LONG_HEADER, the address its name says, `system`, the segment and page sizes.
    func segment(_ path: String, system: UInt64 = 7_311_000_000_000_000_001, fill: UInt8, address: UInt64? = nil) throws {
        var bytes = [UInt8](repeating: fill, count: 16 << 20)
        func put(_ value: UInt64, at offset: Int, _ count: Int) {
            for i in 0..<count { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        }
        let name = (path as NSString).lastPathComponent
        let named =
            name.count == 24
            ? UInt64(name.dropFirst(8).prefix(8), radix: 16).flatMap { high in
                UInt64(name.dropFirst(16).prefix(8), radix: 16).map { high << 32 + $0 << 24 }
            } : nil
        put(0xD110, at: 0, 2)
        put(0x0002, at: 2, 2)
        put(UInt64(name.prefix(8), radix: 16) ?? 1, at: 4, 4)
        put(address ?? named ?? 0, at: 8, 8)
        put(system, at: 24, 8)
        put(16 << 20, at: 32, 4)
        put(8192, at: 36, 4)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    @Test func pushIsIdempotentRefusesDifferentContentAndFetchChecksWhatItReturns() throws {
        let box = try Sandbox("wal")
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        let name = "000000010000000000000007"
        let original = box.root + "/pg_wal/" + name
        try FileManager.default.createDirectory(atPath: box.root + "/pg_wal", withIntermediateDirectories: true)
        try segment(original, fill: 0x41)

        let first = try CLI.run(["wal", "push", "--repo", box.repo, original, "--json"])
        #expect(first.status == 0, "\(first.output)")
        #expect((try first.json() as? [String: Any])?["outcome"] as? String == "stored")
        let stored = try FileManager.default.contentsOfDirectory(atPath: box.repo + "/wal/00000001")
        #expect(stored.count == 1 && stored[0].hasPrefix(name + "-") && stored[0].hasSuffix(".zst"))
        #expect(try DiskStorage(root: box.repo).size("wal/00000001/" + stored[0])! < 1 << 20)  // compressed

        // Re-push after a crash: same content succeeds without a second copy.
        let again = try CLI.run(["wal", "push", "--repo", box.repo, original, "--json"])
        #expect(again.status == 0)
        #expect((try again.json() as? [String: Any])?["outcome"] as? String == "already-archived")
        // Different content under the same name: refused, the archived copy untouched.
        let impostor = box.root + "/other/" + name
        try FileManager.default.createDirectory(atPath: box.root + "/other", withIntermediateDirectories: true)
        try segment(impostor, fill: 0x42)
        let refused = try CLI.run(["wal", "push", "--repo", box.repo, impostor])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("already archived with different content"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: box.repo + "/wal/00000001") == stored)

        // Fetch returns exactly what was pushed.
        let fetched = box.root + "/RECOVERYXLOG"
        #expect(try CLI.run(["wal", "fetch", "--repo", box.repo, name, fetched]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: fetched)) == Data(contentsOf: URL(fileURLWithPath: original)))
        // Missing files, including the .history probes recovery makes, are a non-zero exit.
        for missing in ["000000010000000000000008", "00000002.history"] {
            let probe = try CLI.run(["wal", "fetch", "--repo", box.repo, missing, box.root + "/probe"])
            #expect(probe.status == 1, "\(probe.output)")
            #expect(!FileManager.default.fileExists(atPath: box.root + "/probe"))
        }
        // Not a WAL name: usage error.
        #expect(try CLI.run(["wal", "fetch", "--repo", box.repo, "../../etc/passwd", box.root + "/x"]).status == 2)

        // A damaged archived copy: exit 3 and nothing left at the destination.
        let archived = box.repo + "/wal/00000001/" + stored[0]
        var data = try Data(contentsOf: URL(fileURLWithPath: archived))
        data[data.count / 2] ^= 0x01
        try data.write(to: URL(fileURLWithPath: archived))
        let damaged = try CLI.run(["wal", "fetch", "--repo", box.repo, name, box.root + "/damaged"])
        #expect(damaged.status == 3, "\(damaged.output)")
        #expect(!FileManager.default.fileExists(atPath: box.root + "/damaged"))
    }

    /// restore_command's prefetch: the first fetch starts a prefetcher that downloads the next
    /// segments into pg_wal/lifeboat-prefetch; the next fetches are served from there without
    /// the repository (moved away here), segments recovery passed are dropped, and the queue
    /// holds at most --prefetch segments.
    @Test func fetchPrefetchesTheNextSegmentsAndServesThemWithoutTheRepository() throws {
        let box = try Sandbox("wal-prefetch")
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        for n in 1...12 {
            let path = box.root + "/" + String(format: "0000000100000000000000%02X", n)
            try segment(path, fill: UInt8(n))
            #expect(try CLI.run(["wal", "push", "--repo", box.repo, path]).status == 0)
        }
        let pgWAL = box.root + "/restored/pg_wal"
        try FileManager.default.createDirectory(atPath: pgWAL, withIntermediateDirectories: true)
        let queue = pgWAL + "/lifeboat-prefetch"
        func queued() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: queue)) ?? []).filter { $0.count == 24 }.sorted() }
        let first = try CLI.run(["wal", "fetch", "--repo", box.repo, "--prefetch", "4", "000000010000000000000001", pgWAL + "/RECOVERYXLOG"])
        #expect(first.status == 0, "\(first.output)")
        for _ in 0..<100 where queued().count < 4 { usleep(50_000) }
        #expect(queued() == (2...5).map { String(format: "0000000100000000000000%02X", $0) })
        try FileManager.default.moveItem(atPath: box.repo, toPath: box.repo + ".away")
        for n in 2...3 {
            let name = String(format: "0000000100000000000000%02X", n)
            let hit = try CLI.run(["wal", "fetch", "--repo", box.repo, "--prefetch", "4", "-v", name, pgWAL + "/RECOVERYXLOG"])
            #expect(hit.status == 0 && hit.stdout.contains("from the prefetch queue"), "\(hit.output)")
            let content = try [UInt8](Data(contentsOf: URL(fileURLWithPath: pgWAL + "/RECOVERYXLOG")))
            #expect(content.count == 16 << 20 && content[100] == UInt8(n), "the segment asked for, whole")
        }
        // Queued files are not fsynced: a queue filled before the machine last booted may hold
        // data that never reached the disk, so it is never served (the repository is away here).
        let thisBoot = try String(contentsOfFile: queue + "/.boot", encoding: .utf8)
        try "another-boot\n".write(toFile: queue + "/.boot", atomically: true, encoding: .utf8)
        let stale = try CLI.run(["wal", "fetch", "--repo", box.repo, "--prefetch", "4", "000000010000000000000004", pgWAL + "/RECOVERYXLOG"])
        #expect(stale.status != 0 && queued().contains("000000010000000000000004"), "\(stale.output)")
        // A jump ahead (a timeline switch, a target reached): what recovery passed is dropped.
        try FileManager.default.moveItem(atPath: box.repo + ".away", toPath: box.repo)
        #expect(
            try CLI.run(["wal", "fetch", "--repo", box.repo, "--prefetch", "0", "00000001000000000000000A", pgWAL + "/RECOVERYXLOG"]).status == 0)
        #expect(queued() == ["000000010000000000000004", "000000010000000000000005"], "--prefetch 0 neither drops nor starts")
        #expect(
            try CLI.run(["wal", "fetch", "--repo", box.repo, "--prefetch", "4", "00000001000000000000000A", pgWAL + "/RECOVERYXLOG"]).status == 0)
        for _ in 0..<100 where queued() != ["00000001000000000000000B", "00000001000000000000000C"] { usleep(50_000) }
        #expect(queued() == ["00000001000000000000000B", "00000001000000000000000C"], "the archive ends at 0C")
        #expect(try String(contentsOfFile: queue + "/.boot", encoding: .utf8) == thisBoot, "the refilled queue is of this boot")
        #expect(try CLI.run(["wal", "fetch", "--repo", box.repo, "00000001000000000000000D", pgWAL + "/RECOVERYXLOG"]).status == 1)
    }

    @Test func aKilledPushLeavesNothingArchivedAndTheRetrySucceeds() throws {
        let box = try Sandbox("wal-crash")
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        let path = box.root + "/000000010000000000000001"
        try segment(path, fill: 0x07)
        let killed = try CLI.run(["wal", "push", "--repo", box.repo, path], environment: ["LIFEBOAT_CRASH_AT": "wal-push-before-rename"])
        #expect(killed.status != 0)
        #expect(try WALArchive(repository: try Repository(opening: box.repo)).stored("000000010000000000000001") == nil)
        #expect(try CLI.run(["wal", "push", "--repo", box.repo, path]).status == 0)
        #expect(try WALArchive(repository: try Repository(opening: box.repo)).stored("000000010000000000000001") != nil)
    }

    @Test func walOfAnotherClusterIsRefused() throws {
        let box = try Sandbox("wal-system")
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        try segment(box.root + "/000000010000000000000001", system: 1111, fill: 1)
        try FileManager.default.createDirectory(atPath: box.root + "/b", withIntermediateDirectories: true)
        try segment(box.root + "/b/000000010000000000000002", system: 2222, fill: 2)
        #expect(try CLI.run(["wal", "push", "--repo", box.repo, box.root + "/000000010000000000000001"]).status == 0)
        let other = try CLI.run(["wal", "push", "--repo", box.repo, box.root + "/b/000000010000000000000002"])
        #expect(other.status == 2)
        #expect(other.stderr.contains("system 2222") && other.stderr.contains("1111"))
    }

    /// Durability as the kernel sees it (strace): the file is fsynced before it is renamed into
    /// place and the directory after, all before `wal push` exits 0.
    @Test func pushFsyncsTheFileBeforeTheRenameAndTheDirectoryAfter() throws {
        let box = try Sandbox("wal-fsync")
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        let path = box.root + "/000000010000000000000003"
        try segment(path, fill: 3)
        let trace = box.root + "/trace"
        let code = try ChildProcess.run(
            [
                "strace", "-f", "-e", "trace=openat,fsync,rename", "-o", trace,
                CLI.binary, "wal", "push", "--repo", box.repo, path,
            ], in: box.root)
        #expect(code == 0)
        let lines = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").map(String.init)
        func fd(_ line: String) -> String? { line.split(separator: "=").last?.trimmingCharacters(in: .whitespaces) }
        let folder = box.repo + "/wal/00000001"
        let openTemp = try #require(lines.firstIndex { $0.contains("openat(") && $0.contains(folder + "/.") && $0.contains("O_CREAT") })
        let rename = try #require(lines.firstIndex { $0.contains("rename(") && $0.contains(folder + "/.") })
        let tempFD = try #require(fd(lines[openTemp]))
        #expect(lines[openTemp..<rename].contains { $0.contains("fsync(\(tempFD))") && $0.hasSuffix("= 0") })
        let openFolder = try #require(
            lines[rename...].firstIndex { $0.contains("openat(") && $0.contains("\"\(folder)\"") && $0.contains("O_DIRECTORY") })
        let folderFD = try #require(fd(lines[openFolder]))
        #expect(lines[openFolder...].contains { $0.contains("fsync(\(folderFD))") && $0.hasSuffix("= 0") })
    }

    /// `verify` finds a gap in the archive (recovery would stop there); `verify --deep` finds a
    /// damaged archived file that plain `verify` cannot see.
    @Test func verifyFindsGapsAndDeepVerifyFindsDamage() throws {
        let box = try Sandbox("wal-verify")
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        for n in [1, 2, 4, 5] {
            let path = box.root + "/00000001000000000000000\(n)"
            try segment(path, fill: UInt8(n))
            #expect(try CLI.run(["wal", "push", "--repo", box.repo, path]).status == 0)
        }
        let gap = try CLI.run(["verify", "--repo", box.repo, "--json"])
        #expect(gap.status == 3, "\(gap.output)")
        let wal = try #require((try gap.json() as? [String: Any])?["wal"] as? [String: Any])
        #expect(wal["gaps"] as? [String] == ["000000010000000000000003 is missing"])
        #expect(wal["files"] as? Int == 4)
        try segment(box.root + "/000000010000000000000003", fill: 3)
        #expect(try CLI.run(["wal", "push", "--repo", box.repo, box.root + "/000000010000000000000003"]).status == 0)
        let whole = try CLI.run(["verify", "--repo", box.repo, "--deep"])
        #expect(whole.status == 0, "\(whole.output)")
        #expect(whole.stdout.contains("WAL archive: 5 files") && whole.stdout.contains("5 decompressed and checked, no gaps"))

        // Damage inside one archived file: the zstd stream still decodes, the content differs.
        let folder = box.repo + "/wal/00000001"
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).first { $0.hasPrefix("000000010000000000000004-") })
        let original = box.root + "/000000010000000000000004"
        var content = try Data(contentsOf: URL(fileURLWithPath: original))
        content[1000] ^= 0xFF
        try content.write(to: URL(fileURLWithPath: box.root + "/tampered"))
        let tampered = box.root + "/tampered.zst"
        #expect(try ChildProcess.run(["zstd", "-q", "-f", box.root + "/tampered", "-o", tampered], in: box.root) == 0)
        try FileManager.default.removeItem(atPath: folder + "/" + name)
        try FileManager.default.copyItem(atPath: tampered, toPath: folder + "/" + name)
        #expect(try CLI.run(["verify", "--repo", box.repo]).status == 0)  // names and continuity only
        let deep = try CLI.run(["verify", "--repo", box.repo, "--deep"])
        #expect(deep.status == 3, "\(deep.output)")
        #expect(deep.stderr.contains("archived WAL file 000000010000000000000004 is damaged"))
    }
}
