import Foundation
import LifeboatCore
import Testing

/// A physical source pointed at a hot standby (a real primary and a streaming standby on
/// loopback): the base backup is taken from the standby, which does not archive, with its WAL
/// from the primary's archive in the same repository; it restores to its own end and, with the
/// primary's archived WAL, to the end of the archive. A standby whose primary archives elsewhere
/// is refused before anything is stored.
@Suite(.serialized) struct PostgresStandbyTests {
    func stop(_ datadir: String) {
        PostgresServer.stopRestored(datadir)
    }

    func count(_ port: Int) throws -> String? {
        try PostgresConnection(host: "127.0.0.1", port: port, database: "app", user: "postgres", password: nil).value("SELECT count(*) FROM marks")
    }

    @Test func aBackupFromAStandbyRestoresWithThePrimarysArchive() throws {
        let box = try Sandbox("pg-standby")
        try PostgresServer.giveToOwner(box.root)
        #expect(try CLI.runAsClusterOwner(["init", "--repo", box.repo]).status == 0)
        let primary = try PostgresServer(
            in: box.root + "/primary",
            extraConfig: ["archive_mode = on", "archive_command = '\(CLI.binary) wal push --repo \(box.repo) %p'", "archive_timeout = 1s"])
        try primary.pgbench(database: "app", scale: 1)
        try primary.connect("app").query("CREATE TABLE marks AS SELECT generate_series(1, 100) AS n")
        let standby = try PostgresServer(standbyOf: primary, in: box.root + "/standby")
        try standby.waitForReplay(of: primary)
        #expect(try standby.connect().value("SELECT pg_is_in_recovery()") == "t")
        #expect(try standby.connect().value("SHOW archive_mode") == "off")
        let expected = try PostgresServer.tableChecksums(try primary.connect("app"))
        // Let the primary archive at least one segment, so the archive knows the system.
        try primary.connect().query("SELECT pg_switch_wal()")
        for _ in 0..<100 where try !(CLI.runAsClusterOwner(["wal", "list", "--repo", box.repo, "-q"]).stdout.contains("0000")) { usleep(100_000) }

        try """
        repository: \(box.repo)
        sources:
          phys: {type: postgres, host: 127.0.0.1, port: \(standby.port), database: app, user: postgres, mode: physical}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        // The standby's backup begins at the newest checkpoint it replayed: give it a recent one.
        try primary.connect().query("CHECKPOINT")
        try standby.waitForReplay(of: primary)
        let backup = try CLI.runAsClusterOwner(["backup", "--policy", box.policy, "--json"])
        #expect(backup.status == 0, "\(backup.output)")
        let repository = try Repository(opening: box.repo)
        let snapshots = repository.loadSnapshots().snapshots
        let component = try #require(snapshots.first?.components.first)
        #expect(component.metadata["from_standby"] == .bool(true))

        // After the backup the primary goes on; its archive carries the standby's backup forward.
        try primary.connect("app").query("INSERT INTO marks SELECT generate_series(101, 150)")
        let last = try #require(try primary.connect().value("SELECT pg_walfile_name(pg_switch_wal())"))
        for _ in 0..<100 where (try primary.connect().value("SELECT last_archived_wal FROM pg_stat_archiver")) ?? "" < last { usleep(100_000) }

        let ownEnd = box.root + "/own-end"
        let port1 = try RedisServer.freePort()
        let restored = try CLI.runAsClusterOwner([
            "restore", "latest", "--repo", box.repo, "--source", "phys", "--to-datadir", ownEnd, "--port", String(port1), "--start",
        ])
        defer { stop(ownEnd) }
        #expect(restored.status == 0, "\(restored.output)")
        #expect(try count(port1) == "100")
        #expect(
            try PostgresServer.tableChecksums(
                try PostgresConnection(host: "127.0.0.1", port: port1, database: "app", user: "postgres", password: nil)) == expected)

        let archiveEnd = box.root + "/archive-end"
        let port2 = try RedisServer.freePort()
        let latest = try CLI.runAsClusterOwner(
            ["restore", "--at", "latest", "--repo", box.repo, "--source", "phys", "--to-datadir", archiveEnd, "--port", String(port2), "--start"])
        defer { stop(archiveEnd) }
        #expect(latest.status == 0, "\(latest.output)")
        #expect(try count(port2) == "150", "the rows the primary wrote after the backup, from its archive")

        // A standby whose primary archives into another repository: refused, nothing stored.
        let elsewhere = box.root + "/elsewhere"
        #expect(try CLI.runAsClusterOwner(["init", "--repo", elsewhere]).status == 0)
        try String(contentsOfFile: box.policy, encoding: .utf8).replacingOccurrences(of: box.repo, with: elsewhere)
            .write(toFile: box.root + "/elsewhere.yaml", atomically: true, encoding: .utf8)
        let refused = try CLI.runAsClusterOwner(["backup", "--policy", box.root + "/elsewhere.yaml"])
        #expect(refused.status == 2 && refused.stderr.contains("standby"), "\(refused.output)")
        #expect((try CLI.run(["snapshots", "--repo", elsewhere, "--json"]).json() as? [Any])?.isEmpty == true)
    }
}
