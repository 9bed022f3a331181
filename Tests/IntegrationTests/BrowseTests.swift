import Foundation
import LifeboatCore
import LifeboatTestSupport
import Testing

/// Browsing and partial restores, as an operator at 3 a.m. uses them: `ls` and `find` (text and
/// JSON), `diff` of two snapshots with known edits, `dump` of one file and of a tar piped to
/// `tar -t`, and `restore --include` of one file into a target whose other content stays as it
/// was; on files, Redis and PostgreSQL logical snapshots.
@Suite(.serialized) struct BrowseTests {
    /// Runs `command` in a shell; returns its status and stdout.
    static func shell(_ command: String) throws -> (status: Int32, stdout: String) {
        try runProgram("/bin/sh", ["-c", command])
    }

    /// Two snapshots of a config tree: the second edits a file, adds one, removes one and
    /// changes a mode.
    func twoSnapshots(_ box: Sandbox) throws -> (first: String, second: String) {
        try box.file("etc/app/app.yaml", Array("version: 1\n".utf8))
        try box.file("etc/app/db.yaml", Array("host: db1\n".utf8))
        try box.file("notes/readme.txt", Array("read me\n".utf8))
        try box.file("bin/run.sh", Array("#!/bin/sh\n".utf8), mode: 0o644)
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        let first = try CLI.run(["backup", "--policy", box.policy, "--name", "before-edit"])
        #expect(first.status == 0, "\(first.output)")
        try box.file("etc/app/app.yaml", Array("version: 2\n".utf8))
        try box.file("etc/app/cache.yaml", Array("ttl: 60\n".utf8))
        try FileManager.default.removeItem(atPath: box.source + "/notes/readme.txt")
        chmod(box.source + "/bin/run.sh", 0o755)
        let second = try CLI.run(["backup", "--policy", box.policy, "--name", "after-edit"])
        #expect(second.status == 0, "\(second.output)")
        return ("before-edit", "after-edit")
    }

    @Test func lsAndFindListWhatTheSnapshotsHoldInTextAndJSON() throws {
        let box = try Sandbox("browse-ls")
        _ = try twoSnapshots(box)
        let ls = try CLI.run(["ls", "after-edit", "--repo", box.repo])
        #expect(ls.status == 0, "\(ls.output)")
        #expect(
            ls.stdout.split(separator: "\n") == [
                "bin", "bin/run.sh", "etc", "etc/app", "etc/app/app.yaml", "etc/app/cache.yaml", "etc/app/db.yaml", "notes",
            ])
        let long = try CLI.run(["ls", "after-edit", "etc/app", "-l", "--repo", box.repo])
        #expect(long.stdout.split(separator: "\n").count == 4)
        #expect(long.stdout.contains("-rw-r--r--           11 ") && long.stdout.contains(" etc/app/app.yaml"), "\(long.stdout)")
        let json = try #require(try CLI.run(["ls", "after-edit", "bin", "--repo", box.repo, "--json"]).json() as? [[String: Any]])
        #expect(json.count == 2)
        let script = try #require(json.first { $0["path"] as? String == "bin/run.sh" })
        #expect(script["kind"] as? String == "file" && script["mode"] as? String == "0755" && script["size"] as? Int == 10)
        #expect(script["source"] as? String == "cfg" && (script["sha256"] as? String)?.count == 64 && script["mtime"] is String)
        let missing = try CLI.run(["ls", "after-edit", "etc/nope", "--repo", box.repo])
        #expect(missing.status == 2 && missing.stderr.contains("no entry \"etc/nope\""), "\(missing.output)")

        let find = try CLI.run(["find", "*.yaml", "--repo", box.repo, "--json"])
        let found = try #require(try find.json() as? [[String: Any]])
        let pairs = found.map { "\($0["snapshot"] as? String ?? ""):\($0["path"] as? String ?? "")" }
        #expect(
            pairs == [
                "before-edit:etc/app/app.yaml", "before-edit:etc/app/db.yaml",
                "after-edit:etc/app/app.yaml", "after-edit:etc/app/cache.yaml", "after-edit:etc/app/db.yaml",
            ])
        let readme = try CLI.run(["find", "readme.txt", "--repo", box.repo])
        #expect(readme.stdout.contains("before-edit:") && !readme.stdout.contains("after-edit:"), "\(readme.stdout)")
    }

    @Test func diffNamesEveryKnownEdit() throws {
        let box = try Sandbox("browse-diff")
        let (first, second) = try twoSnapshots(box)
        let diff = try CLI.run(["diff", first, second, "--repo", box.repo])
        #expect(diff.status == 0, "\(diff.output)")
        let lines = Set(diff.stdout.split(separator: "\n").map(String.init))
        #expect(lines.isSuperset(of: ["M etc/app/app.yaml", "+ etc/app/cache.yaml", "- notes/readme.txt", "U bin/run.sh"]), "\(diff.stdout)")
        #expect(!lines.contains { $0.hasSuffix(" etc/app/db.yaml") }, "an unchanged file is not in the diff")
        let json = try #require(try CLI.run(["diff", first, second, "--repo", box.repo, "--json"]).json() as? [String: Any])
        let cfg = try #require((json["sources"] as? [[String: Any]])?.first)
        #expect(cfg["added"] as? [String] == ["etc/app/cache.yaml"])
        #expect(cfg["removed"] as? [String] == ["notes/readme.txt"])
        #expect(cfg["modified"] as? [String] == ["etc/app/app.yaml"])
        #expect((cfg["metadata_changed"] as? [String])?.contains("bin/run.sh") == true)
        #expect(json["from"] as? String == first && json["to"] as? String == second)
    }

    @Test func dumpWritesOneFileOrATarThatTarReads() throws {
        let box = try Sandbox("browse-dump")
        _ = try twoSnapshots(box)
        let file = try CLI.run(["dump", "before-edit", "etc/app/app.yaml", "--repo", box.repo])
        #expect(file.status == 0 && file.stdout == "version: 1\n", "\(file.output)")
        let tar = try Self.shell("'\(CLI.binary)' dump after-edit etc --repo '\(box.repo)' | tar -t")
        #expect(tar.status == 0)
        #expect(tar.stdout.split(separator: "\n") == ["etc/", "etc/app/", "etc/app/app.yaml", "etc/app/cache.yaml", "etc/app/db.yaml"])
        let whole = try Self.shell("'\(CLI.binary)' dump latest --repo '\(box.repo)' | tar -xO etc/app/app.yaml")
        #expect(whole.status == 0 && whole.stdout == "version: 2\n")
        let directory = try CLI.run(["dump", "latest", "etc/nope", "--repo", box.repo])
        #expect(directory.status == 2, "\(directory.output)")
    }

    /// A damaged snapshot: the file dump exits 3 and writes nothing; the tar dump exits 3 and the
    /// archive has no end, so tar fails too.
    @Test func dumpOfADamagedSnapshotExits3AndIsNeverTakenForWhole() throws {
        let box = try Sandbox("browse-damaged")
        try box.file("big.bin", Sandbox.randomBytes(3 << 20))
        try box.file("small.txt", Array("small\n".utf8))
        #expect(try CLI.run(["init", "--repo", box.repo, "--format", "1"]).status == 0)
        #expect(try CLI.run(["backup", "--policy", box.policy]).status == 0)
        let data = try #require(try FileManager.default.subpathsOfDirectory(atPath: box.repo + "/data").first { $0.hasSuffix(".tar.zst") })
        let stored = box.repo + "/data/" + data
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: stored)))
        bytes[bytes.count / 3] ^= 0xff
        try Data(bytes).write(to: URL(fileURLWithPath: stored))
        let file = try CLI.run(["dump", "latest", "big.bin", "--repo", box.repo])
        #expect(file.status == 3 && file.stdout.isEmpty, "status \(file.status), \(file.stdout.utf8.count) bytes written")
        let tar = try Self.shell("'\(CLI.binary)' dump latest --repo '\(box.repo)' > '\(box.root)/out.tar'; echo $?")
        #expect(tar.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "3")
        #expect(try Self.shell("tar -tf '\(box.root)/out.tar'").status != 0, "a truncated archive must not read as whole")
    }

    @Test func restoreIncludeWritesOneFileAndLeavesTheRestOfTheTargetAlone() throws {
        let box = try Sandbox("browse-include")
        _ = try twoSnapshots(box)
        let target = box.root + "/live"
        try FileManager.default.createDirectory(atPath: target + "/etc/app", withIntermediateDirectories: true)
        try "version: broken\n".write(toFile: target + "/etc/app/app.yaml", atomically: true, encoding: .utf8)
        try "mine\n".write(toFile: target + "/etc/app/local.yaml", atomically: true, encoding: .utf8)
        try "untouched\n".write(toFile: target + "/other.txt", atomically: true, encoding: .utf8)
        let before = try Sandbox.describeTree(target)

        // Refused (the file exists), in the dry run and for real, with the same code.
        let dry = try CLI.run(["restore", "before-edit", "--repo", box.repo, "--to", target, "--include", "etc/app/app.yaml", "--dry-run"])
        let refused = try CLI.run(["restore", "before-edit", "--repo", box.repo, "--to", target, "--include", "etc/app/app.yaml"])
        #expect(dry.status == 2 && refused.status == 2, "\(dry.output) \(refused.output)")
        #expect(refused.stderr.contains("etc/app/app.yaml") && refused.stderr.contains("--force"))
        #expect(try Sandbox.describeTree(target) == before, "a refused restore changed the target")

        let forced = try CLI.run(["restore", "before-edit", "--repo", box.repo, "--to", target, "--include", "etc/app/app.yaml", "--force", "--json"])
        #expect(forced.status == 0, "\(forced.output)")
        #expect(try String(contentsOfFile: target + "/etc/app/app.yaml", encoding: .utf8) == "version: 1\n")
        #expect(try String(contentsOfFile: target + "/etc/app/local.yaml", encoding: .utf8) == "mine\n")
        #expect(try String(contentsOfFile: target + "/other.txt", encoding: .utf8) == "untouched\n")
        let kept = try FileManager.default.contentsOfDirectory(atPath: target + "/etc/app").filter { $0.hasPrefix("app.yaml.lifeboat-previous-") }
        #expect(kept.count == 1, "the replaced file is kept aside")
        #expect(!FileManager.default.fileExists(atPath: target + "/etc/app/db.yaml"), "only the included file is written")
        #expect(!FileManager.default.fileExists(atPath: target + "/notes"))

        // --exclude into a new directory: everything but the excluded.
        let fresh = box.root + "/fresh"
        #expect(try CLI.run(["restore", "after-edit", "--repo", box.repo, "--to", fresh, "--exclude", "*.yaml"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: fresh + "/bin/run.sh"))
        #expect(!FileManager.default.fileExists(atPath: fresh + "/etc/app/app.yaml"))
        let none = try CLI.run(["restore", "after-edit", "--repo", box.repo, "--to", box.root + "/none", "--include", "*.toml"])
        #expect(none.status == 2 && none.stderr.contains("selects none"), "\(none.output)")
    }

    @Test func redisAndPostgresSnapshotsAreBrowsedAndDumpedToo() throws {
        let box = try Sandbox("browse-servers")
        let redis = try RedisServer(in: box.root + "/redis")
        try redis.client().expect("DEBUG", "POPULATE", "1000", "key", "16")
        let pg = try PostgresServer(in: box.root + "/pg")
        try pg.pgbench(database: "app", scale: 1)
        try """
        repository: \(box.repo)
        sources:
          cache: {type: redis, host: 127.0.0.1, port: \(redis.port), config: \(redis.config)}
          db: {type: postgres, host: 127.0.0.1, port: \(pg.port), database: app, user: postgres, mode: logical}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        let backup = try CLI.run(["backup", "--policy", box.policy])
        #expect(backup.status == 0, "\(backup.output)")

        let ls = try #require(try CLI.run(["ls", "latest", "--repo", box.repo, "--json"]).json() as? [[String: Any]])
        let paths = ls.map { "\($0["source"] as? String ?? ""):\($0["path"] as? String ?? "")" }
        #expect(paths.contains("cache:dump.rdb"), "\(paths)")
        #expect(paths.contains { $0.hasPrefix("db:pg_dump/part-") } && paths.contains { $0.hasPrefix("db:globals/") }, "\(paths)")

        let rdb = box.root + "/dump.rdb"
        let dumped = try Self.shell("'\(CLI.binary)' dump latest dump.rdb --source cache --repo '\(box.repo)' > '\(rdb)' && redis-check-rdb '\(rdb)'")
        #expect(dumped.status == 0, "redis-check-rdb accepts the dumped RDB: \(dumped.stdout)")
        let parts = try Self.shell("'\(CLI.binary)' dump latest pg_dump --source db --repo '\(box.repo)' | tar -t")
        #expect(parts.status == 0 && parts.stdout.contains("pg_dump/part-000001"), "\(parts.stdout)")
        let include = try CLI.run(["restore", "latest", "--source", "cache", "--repo", box.repo, "--to-config", redis.config, "--include", "*"])
        #expect(include.status == 2 && include.stderr.contains("files sources"), "\(include.output)")
        let ambiguous = try CLI.run(["dump", "latest", "--repo", box.repo])
        #expect(ambiguous.status == 2 && ambiguous.stderr.contains("--source"), "\(ambiguous.output)")
    }
}
