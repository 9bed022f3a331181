import Foundation
import LifeboatCore
import Testing

/// Physical backups and point-in-time recovery against a real PostgreSQL 15 that archives its
/// WAL with `lifeboat wal push`: rows stamped with clock_timestamp() over a minute with WAL
/// switches; a restore to a moment in the middle holds exactly the rows committed before it.
@Suite(.serialized) struct PostgresPointInTimeTests {
    /// Stops a restored cluster.
    func stop(_ datadir: String) {
        PostgresServer.stopRestored(datadir)
    }

    func ids(port: Int) throws -> [Int] {
        let c = try PostgresConnection(host: "127.0.0.1", port: port, database: "postgres", user: "postgres", password: nil)
        return try c.query("SELECT id FROM stamps ORDER BY id").map { Int($0[0]!)! }
    }

    @Test func restoreToAMomentInTheMiddleHoldsExactlyTheRowsCommittedBeforeIt() throws {
        let box = try Sandbox("pg-pitr")
        try PostgresServer.giveToOwner(box.root)
        #expect(try CLI.runAsClusterOwner(["init", "--repo", box.repo]).status == 0)
        let server = try PostgresServer(
            in: box.root + "/pg",
            extraConfig: [
                "archive_mode = on",
                "archive_command = '\(CLI.binary) wal push --repo \(box.repo) %p'",
                "archive_timeout = 2s",
            ])
        try """
        repository: \(box.repo)
        sources:
          phys: {type: postgres, host: 127.0.0.1, port: \(server.port), user: postgres, mode: physical}
        schedules:
          daily: {cron: "0 2 * * *", retention: {keep-last: 1}}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        let db = try server.connect()
        try db.query("CREATE TABLE stamps (id serial PRIMARY KEY, t timestamptz NOT NULL DEFAULT clock_timestamp())")
        let backup = try CLI.runAsClusterOwner(["backup", "--policy", box.policy, "--schedule", "daily"])
        #expect(backup.status == 0, "\(backup.output)")
        // wal_method: fetch (the default) puts the WAL that makes the backup consistent inside it.
        let repository = try Repository(opening: box.repo)
        let first = try repository.manifest(id: try #require(repository.loadSnapshots().snapshots.first?.id))
        #expect(first.components[0].entries.contains { $0.path.hasPrefix("pg_wal/0") })
        #expect(first.components[0].entries.contains { $0.path == "backup_manifest" })

        // A minute of single-row transactions every 100 ms, a WAL switch every 5 s, a named
        // restore point at 40 s.
        let began = Date()
        var marked = 0
        var n = 0
        while Date().timeIntervalSince(began) < 60 {
            try db.query("INSERT INTO stamps DEFAULT VALUES")
            n += 1
            if n % 50 == 0 { try db.query("SELECT pg_switch_wal()") }
            if marked == 0 && Date().timeIntervalSince(began) >= 40 {
                marked = Int(try db.value("SELECT max(id) FROM stamps") ?? "0")!
                try db.query("SELECT pg_create_restore_point('before-mistake')")
            }
            usleep(100_000)
        }
        let last = try #require(try db.value("SELECT pg_walfile_name(pg_switch_wal())"))
        for _ in 0..<100 where (try db.value("SELECT last_archived_wal FROM pg_stat_archiver")) ?? "" < last { usleep(100_000) }
        let rows = try db.query("SELECT id, to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM stamps ORDER BY id")
        #expect(rows.count > 400)
        let k = rows.count / 2
        // The target: halfway between row k's and row k+1's stamps.
        let a = try #require(Timestamp.parse(rows[k - 1][1]!))
        let b = try #require(Timestamp.parse(rows[k][1]!))
        let target = Timestamp.rfc3339(a.addingTimeInterval(b.timeIntervalSince(a) / 2), fractional: true)
        let expected = rows.filter { Timestamp.parse($0[1]!)! < Timestamp.parse(target)! }.map { Int($0[0]!)! }
        #expect(expected.count == k)

        let plan = try CLI.runAsClusterOwner([
            "restore", "--repo", box.repo, "--source", "phys", "--at", target,
            "--to-datadir", box.root + "/r1", "--dry-run", "--json",
        ])
        #expect(plan.status == 0, "\(plan.output)")
        let planJSON = try #require(try plan.json() as? [String: Any])
        #expect(((planJSON["wal"] as? [String: Any])?["files"] as? Int ?? 0) >= 12)
        #expect(planJSON["recovery_target"] as? String == target)

        let port1 = try RedisServer.freePort()
        let restore = try CLI.runAsClusterOwner([
            "restore", "--repo", box.repo, "--source", "phys", "--at", target,
            "--to-datadir", box.root + "/r1", "--port", String(port1), "--start", "--json",
        ])
        defer { stop(box.root + "/r1") }
        #expect(restore.status == 0, "\(restore.output)")
        #expect(try ids(port: port1) == expected)
        let outcome = try #require((try restore.json() as? [String: Any])?["outcome"] as? [String: Any])
        let reached = try #require((outcome["recovery_point"] as? String).flatMap(Timestamp.parse))
        #expect(reached < Timestamp.parse(target)! && reached >= a)

        // A named restore point, and the end of the archive.
        let port2 = try RedisServer.freePort()
        let named = try CLI.runAsClusterOwner([
            "restore", "latest", "--repo", box.repo, "--source", "phys", "--target-name", "before-mistake",
            "--to-datadir", box.root + "/r2", "--port", String(port2), "--start",
        ])
        defer { stop(box.root + "/r2") }
        #expect(named.status == 0, "\(named.output)")
        #expect(try ids(port: port2) == Array(1...marked))
        let port3 = try RedisServer.freePort()
        let latest = try CLI.runAsClusterOwner([
            "restore", "--repo", box.repo, "--source", "phys", "--at", "latest",
            "--to-datadir", box.root + "/r3", "--port", String(port3), "--start",
        ])
        defer { stop(box.root + "/r3") }
        #expect(latest.status == 0, "\(latest.output)")
        #expect(try ids(port: port3).count == rows.count)
        // The restored copies archive nothing into the source's repository (archive_mode off).
        #expect(try !FileManager.default.contentsOfDirectory(atPath: box.repo + "/wal").contains("00000002"))

        // Retention: a second base backup, the first forgotten; prune removes only the WAL
        // before the kept backup's start, and the kept backup still recovers to the end.
        // The second base backup leaves its WAL to the archive (wal_method: none, pg_basebackup -Xnone).
        let firstSegment = try #require(WALArchive(repository: try Repository(opening: box.repo)).all().first?.name)
        try String(contentsOfFile: box.policy, encoding: .utf8).replacingOccurrences(of: "mode: physical}", with: "mode: physical, wal_method: none}")
            .write(toFile: box.policy, atomically: true, encoding: .utf8)
        #expect(try CLI.runAsClusterOwner(["backup", "--policy", box.policy, "--schedule", "daily"]).status == 0)
        let forget = try CLI.runAsClusterOwner(["forget", "--policy", box.policy, "--prune"])
        #expect(forget.status == 0, "\(forget.output)")
        let repo = try Repository(opening: box.repo)
        let keptComponent = try #require(repo.loadSnapshots().snapshots.first?.components.first)
        #expect(keptComponent.metadata["wal_method"]?.stringValue == "none")
        #expect(keptComponent.entries.isEmpty)  // listing loads no entries; the full manifest has no WAL inside
        #expect(try repo.manifest(id: repo.loadSnapshots().snapshots.first!.id).components[0].entries.allSatisfy { !$0.path.hasPrefix("pg_wal/0") })
        let kept = try #require(keptComponent.metadata["start_wal"]?.stringValue)
        let archived = try WALArchive(repository: repo).all().map(\.name)
        #expect(!archived.contains(firstSegment))
        #expect(archived.contains(kept))
        #expect(archived.allSatisfy { WALArchive.position(of: $0).map { $0 >= WALArchive.position(of: kept)! } ?? true })
        let port4 = try RedisServer.freePort()
        let again = try CLI.runAsClusterOwner([
            "restore", "--repo", box.repo, "--source", "phys", "--at", "latest",
            "--to-datadir", box.root + "/r4", "--port", String(port4), "--start",
        ])
        defer { stop(box.root + "/r4") }
        #expect(again.status == 0, "\(again.output)")
        #expect(try ids(port: port4).count == rows.count)
    }

    @Test func physicalModeWithoutWALArchivingIsRefused() throws {
        let box = try Sandbox("pg-noarchive")
        let server = try PostgresServer(in: box.root + "/pg")
        try """
        repository: \(box.repo)
        sources:
          phys: {type: postgres, port: \(server.port), user: postgres, mode: physical}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        let result = try CLI.run(["backup", "--policy", box.policy])
        #expect(result.status == 2, "\(result.output)")
        #expect(result.stderr.contains("archive_command = 'lifeboat wal push"))
        #expect((try CLI.run(["snapshots", "--repo", box.repo, "--json"]).json() as? [Any])?.isEmpty == true)
    }
}
