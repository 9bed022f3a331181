import Foundation
import LifeboatCore
import LifeboatTestSupport
import Testing

/// `jobs: N` on a logical source against a real PostgreSQL 15: pg_dump's directory format with
/// N jobs, stored as `pg_dump.dir/` entries; deep verify reads it with pg_restore; a restore into
/// a new database runs `pg_restore -j N` and gives identical table checksums, one into an
/// existing database (`--force`) runs in one transaction; `--to DIR` writes a directory that
/// pg_restore reads; a table data file cut short is caught by deep verify; a failed parallel restore
/// drops the database it created; `jobs` on a physical source or out of range is exit 2.
@Suite(.serialized) struct PostgresParallelDumpTests {
    func policy(_ box: Sandbox, port: Int, settings: String) throws {
        try """
        repository: \(box.repo)
        sources:
          db: {type: postgres, host: 127.0.0.1, port: \(port), database: app, user: postgres, \(settings)}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
    }

    @Test func aParallelDumpRestoresWithJobsAndEqualChecksums() throws {
        let box = try Sandbox("pg-jobs")
        let server = try PostgresServer(in: box.root + "/pg")
        try server.pgbench(database: "app", scale: 3)
        try server.connect("app").query("CREATE TABLE notes AS SELECT n, md5(n::text) AS digest FROM generate_series(1, 5000) AS n")
        let before = try PostgresServer.tableChecksums(try server.connect("app"))
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        try policy(box, port: server.port, settings: "mode: logical, jobs: 2")
        let backup = try CLI.run(["backup", "--policy", box.policy])
        #expect(backup.status == 0, "\(backup.output)")

        let manifest = try #require(try CLI.run(["show", "latest", "--repo", box.repo, "--json"]).json() as? [String: Any])
        let component = try #require((manifest["components"] as? [[String: Any]])?.first)
        let metadata = try #require(component["metadata"] as? [String: Any])
        #expect(metadata["dump_format"] as? String == "directory" && metadata["jobs"] as? Int == 2, "\(metadata)")
        let paths = ((component["entries"] as? [[String: Any]]) ?? []).compactMap { $0["path"] as? String }
        #expect(paths.contains("pg_dump.dir/toc.dat"), "\(paths)")
        let tableFiles = paths.filter { $0.hasPrefix("pg_dump.dir/") && $0.hasSuffix(".dat") && $0 != "pg_dump.dir/toc.dat" }
        #expect(tableFiles.count >= 5, "one data file per table: \(paths)")
        #expect(!paths.contains { $0.hasPrefix("pg_dump/part-") })
        #expect(paths.contains { $0.hasPrefix("globals/part-") })
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0)
        let scratch = (try? FileManager.default.contentsOfDirectory(atPath: box.repo + "/tmp")) ?? []
        #expect(!scratch.contains { $0.hasPrefix("lifeboat-pg_dump-") }, "the dump's scratch directory is removed: \(scratch)")

        // Into a new database: pg_restore -j 2, the same rows.
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--to-database", "copy", "--json"])
        #expect(restore.status == 0, "\(restore.output)")
        #expect(restore.stdout.contains("pg_restore -j 2"), "\(restore.stdout)")
        #expect(try PostgresServer.tableChecksums(try server.connect("copy")) == before)

        // Over an existing database (--force): one transaction, one job.
        try server.connect("copy").query("DELETE FROM notes WHERE n > 10")
        let forced = try CLI.run(["restore", "latest", "--repo", box.repo, "--to-database", "copy", "--force"])
        #expect(forced.status == 0 && forced.stdout.contains("in one transaction"), "\(forced.output)")
        #expect(try PostgresServer.tableChecksums(try server.connect("copy")) == before)

        // --to DIR: a directory pg_restore reads, and the globals.
        let files = try CLI.run(["restore", "latest", "--repo", box.repo, "--to", box.root + "/dump"])
        #expect(files.status == 0 && files.stdout.contains("pg_restore --jobs 2"), "\(files.output)")
        #expect(FileManager.default.fileExists(atPath: box.root + "/dump/app.dir/toc.dat"))
        #expect(FileManager.default.fileExists(atPath: box.root + "/dump/globals.sql"))
        let listing = box.root + "/listing.txt"
        let listed = try ChildProcess.run(
            ["/bin/sh", "-c", "/usr/lib/postgresql/15/bin/pg_restore --list '\(box.root)/dump/app.dir' > '\(listing)'"], in: "/")
        let text = (try? String(contentsOfFile: listing, encoding: .utf8)) ?? ""
        #expect(listed == 0 && text.contains("TABLE DATA public notes"), "\(text)")
        let again = try CLI.run(["restore", "latest", "--repo", box.repo, "--to", box.root + "/dump"])
        #expect(again.status == 2 && again.stderr.contains("app.dir exists"), "\(again.output)")
    }

    @Test func aFailedParallelRestoreDropsTheDatabaseItCreated() throws {
        let box = try Sandbox("pg-jobs-fail")
        let server = try PostgresServer(in: box.root + "/pg")
        try server.pgbench(database: "app", scale: 1)
        try server.connect("app").query("CREATE ROLE phantom; ALTER TABLE pgbench_tellers OWNER TO phantom")
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        try policy(box, port: server.port, settings: "jobs: 2")
        #expect(try CLI.run(["backup", "--policy", box.policy]).status == 0)
        try server.connect("app").query("ALTER TABLE pgbench_tellers OWNER TO postgres; DROP ROLE phantom")
        let failed = try CLI.run(["restore", "latest", "--repo", box.repo, "--to-database", "copy", "--no-globals"])
        #expect(failed.status == 1 && failed.stderr.contains("phantom"), "\(failed.output)")
        #expect(try server.connect().value("SELECT count(*) FROM pg_database WHERE datname = 'copy'") == "0")
    }

    @Test func aTableDataFileCutShortIsCaughtByDeepVerify() throws {
        let box = try Sandbox("pg-jobs-damaged")
        let server = try PostgresServer(in: box.root + "/pg")
        try server.pgbench(database: "app", scale: 1)
        #expect(try CLI.run(["init", "--repo", box.repo, "--format", "1"]).status == 0)  // it edits the format-1 stored file
        try policy(box, port: server.port, settings: "jobs: 2")
        #expect(try CLI.run(["backup", "--policy", box.policy, "--compression", "none"]).status == 0)
        var (manifestPath, manifest, file, data) = try ManifestReseal.onlySnapshot(in: box.repo)
        // The accounts' data file loses its end-of-data marker (same length: it looks cut short).
        let largest = try #require(manifest.components[0].entries.filter { $0.path.hasPrefix("pg_dump.dir/") }.max { $0.size < $1.size })
        let header = try #require(data.range(of: Data(largest.path.utf8))).lowerBound
        let end = (header / 512 + 1) * 512 + Int(largest.size)
        #expect(data[(end - 5)..<end] == Data("\\.\n\n\n".utf8))
        data.replaceSubrange((end - 5)..<end, with: Data("1\t2\n\n".utf8))
        try ManifestReseal.afterEditing(data, file: file, manifest: &manifest, at: manifestPath)
        #expect(try CLI.run(["verify", "--repo", box.repo]).status == 0)
        let deep = try CLI.run(["verify", "--repo", box.repo, "--deep"])
        #expect(deep.status == 3 && deep.stderr.contains("before pg_dump's end-of-data marker"), "\(deep.output)")
    }

    @Test func jobsOnAPhysicalSourceOrOutOfRangeIsExit2() throws {
        let box = try Sandbox("pg-jobs-policy")
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        for (settings, message) in [("mode: physical, jobs: 2", "jobs applies to mode: logical"), ("jobs: 0", "between 1 and 64")] {
            try policy(box, port: 5432, settings: settings)
            let result = try CLI.run(["backup", "--policy", box.policy])
            #expect(result.status == 2 && result.stderr.contains(message) && result.stderr.contains("policy.yaml:3"), "\(result.output)")
        }
    }
}
