import Foundation
import LifeboatCore
import LifeboatTestSupport
import Testing

/// `restore --delta --to-datadir D` against real PostgreSQL 15 clusters: a restored copy that
/// was promoted and changed is brought back to the backup by rewriting only what differs, and
/// then holds exactly what a full restore into a new directory holds; a running server's
/// directory, another system's directory and a directory that is not a data directory are
/// refused and left as they were; an interrupted delta (its marker, no pg_control) is finished.
@Suite(.serialized) struct PostgresDeltaRestoreTests {
    func stop(_ datadir: String) {
        PostgresServer.stopRestored(datadir)
    }

    func connect(_ port: Int, _ database: String = "app") throws -> PostgresConnection {
        try PostgresConnection(host: "127.0.0.1", port: port, database: database, user: "postgres", password: nil)
    }

    @Test func aDeltaRestoreRewritesOnlyWhatDiffersAndEqualsAFullRestore() throws {
        let box = try Sandbox("pg-delta")
        try PostgresServer.giveToOwner(box.root)
        #expect(try CLI.runAsClusterOwner(["init", "--repo", box.repo]).status == 0)
        let server = try PostgresServer(
            in: box.root + "/pg",
            extraConfig: ["archive_mode = on", "archive_command = '\(CLI.binary) wal push --repo \(box.repo) %p'", "archive_timeout = 1s"])
        try server.pgbench(database: "app", scale: 4)
        try """
        repository: \(box.repo)
        sources:
          phys: {type: postgres, host: 127.0.0.1, port: \(server.port), database: app, user: postgres, mode: physical}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        let backup = try CLI.runAsClusterOwner(["backup", "--policy", box.policy])
        #expect(backup.status == 0, "\(backup.output)")
        let expected = try PostgresServer.tableChecksums(try server.connect("app"))

        // A full restore, started, then changed: about 1% of the accounts, a new table.
        let copy = box.root + "/copy"
        let port = try RedisServer.freePort()
        let full = try CLI.runAsClusterOwner([
            "restore", "latest", "--source", "phys", "--repo", box.repo, "--to-datadir", copy, "--port", String(port), "--start",
        ])
        defer { stop(copy) }
        #expect(full.status == 0, "\(full.output)")
        try connect(port).query("UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 100 = 0")
        try connect(port).query("CREATE TABLE after_backup AS SELECT generate_series(1, 1000) AS n")
        try connect(port).query("CHECKPOINT")
        #expect(try PostgresServer.tableChecksums(try connect(port)) != expected)

        // Refused while its server runs; nothing changed.
        let running = try CLI.runAsClusterOwner(["restore", "latest", "--source", "phys", "--repo", box.repo, "--to-datadir", copy, "--delta"])
        #expect(running.status == 2 && running.stderr.contains("is running"), "\(running.output)")
        #expect(try connect(port).value("SELECT count(*) FROM after_backup") == "1000")
        stop(copy)

        let dry = try CLI.runAsClusterOwner([
            "restore", "latest", "--source", "phys", "--repo", box.repo, "--to-datadir", copy, "--delta", "--dry-run",
        ])
        #expect(dry.status == 0, "\(dry.output)")
        let delta = try CLI.runAsClusterOwner(
            [
                "restore", "latest", "--source", "phys", "--repo", box.repo, "--to-datadir", copy, "--delta", "--port", String(port), "--start",
                "--json",
            ])
        #expect(delta.status == 0, "\(delta.output)")
        let checks = ((try delta.json() as? [String: Any])?["outcome"] as? [String: Any])?["checks"] as? [String] ?? []
        let line = try #require(checks.first { $0.hasPrefix("delta: ") }, "\(checks)")
        let numbers = line.matches(of: /(\d+)/).compactMap { Int($0.1) }
        #expect(numbers.count >= 4 && numbers[0] > 0 && numbers[0] * 2 > numbers[1], "most entries unchanged: \(line)")
        // Format 2: the unchanged files' chunks were not fetched.
        let spared = try #require(line.firstMatch(of: /; ([0-9.]+) ([KMG]i?B|B) of unchanged content not fetched/), "\(line)")
        #expect((Double(spared.1) ?? 0) > 0 && spared.2 != "B", "the unchanged relations' content is not fetched: \(line)")
        #expect(try PostgresServer.tableChecksums(try connect(port)) == expected, "the delta-restored copy holds the backup's data")
        #expect(try connect(port).value("SELECT count(*) FROM pg_class WHERE relname = 'after_backup'") == "0")
        stop(copy)

        // An interrupted delta (the marker written, pg_control gone) is recognised and finished.
        let systemIdentifier = try #require(try connect(server.port, "postgres").value("SELECT system_identifier::text FROM pg_control_system()"))
        #expect(unlink(copy + "/global/pg_control") == 0)
        try Data("\(systemIdentifier)\n".utf8).write(to: URL(fileURLWithPath: copy + "/lifeboat-delta.incomplete"))
        try PostgresServer.giveToOwner(copy)
        let finished = try CLI.runAsClusterOwner(
            ["restore", "latest", "--source", "phys", "--repo", box.repo, "--to-datadir", copy, "--delta", "--port", String(port), "--start"])
        #expect(finished.status == 0, "\(finished.output)")
        #expect(!FileManager.default.fileExists(atPath: copy + "/lifeboat-delta.incomplete"))
        #expect(try PostgresServer.tableChecksums(try connect(port)) == expected)
        stop(copy)

        // Another system's data directory and a plain directory are refused, untouched.
        let other = try PostgresServer(in: box.root + "/other")
        try other.connect().query("CHECKPOINT")
        _ = try ChildProcess.run(["/bin/bash", PostgresServer.sandboxScripts + "/pg-sandbox.sh", "stop", other.directory], in: "/")
        let before = try Sandbox.describeTree(other.dataDirectory)
        let foreign = try CLI.runAsClusterOwner([
            "restore", "latest", "--source", "phys", "--repo", box.repo, "--to-datadir", other.dataDirectory, "--delta",
        ])
        #expect(foreign.status == 2 && foreign.stderr.contains("never touches another system's directory"), "\(foreign.output)")
        #expect(try Sandbox.describeTree(other.dataDirectory) == before)
        let plain = box.root + "/plain"
        try FileManager.default.createDirectory(atPath: plain, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: plain + "/precious"))
        try PostgresServer.giveToOwner(plain)
        let notData = try CLI.runAsClusterOwner(["restore", "latest", "--source", "phys", "--repo", box.repo, "--to-datadir", plain, "--delta"])
        #expect(notData.status == 2 && notData.stderr.contains("not a PostgreSQL data directory"), "\(notData.output)")
        #expect(FileManager.default.fileExists(atPath: plain + "/precious"))
        #expect(try CLI.run(["restore", "latest", "--repo", box.repo, "--to", plain, "--delta"]).status == 2)
    }
}
