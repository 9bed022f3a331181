import Foundation
import LifeboatCore
import Testing

/// Point-in-time recovery end to end where the WAL archive is not a plain local directory: an
/// S3 repository on a real Ceph RGW (archive_command reads the credentials from a 0600 file, as
/// a systemd EnvironmentFile would give them), and a write-only encrypted repository (the server
/// archives with the public key in the repository's config; only the restore has the private
/// key). Rows committed before the target are present after `restore --at T --start`, rows after
/// it absent, and no secret lands in the restored server's configuration.
@Suite(.serialized) struct PostgresPITRElsewhereTests {
    @Test(arguments: ["s3", "write-only"])
    func restoreToAMomentRecoversExactlyTheRowsBeforeIt(repositoryKind: String) throws {
        let box = try Sandbox("pitr-\(repositoryKind)")
        var environment: [String: String] = [:]
        var location = box.repo
        var archiveCommand = "\(CLI.binary) wal push --repo \(box.repo) %p"
        var restoreKeys: [String] = []
        var secret: String?
        if repositoryKind == "s3" {
            let rgw = RGWServer.shared
            environment = rgw.environment
            secret = environment["AWS_SECRET_ACCESS_KEY"]
            location = rgw.newRepository("pitr")
            let credentials = box.root + "/s3.env"
            try String(contentsOfFile: rgw.directory + "/env", encoding: .utf8).write(toFile: credentials, atomically: true, encoding: .utf8)
            chmod(credentials, 0o600)
            archiveCommand = ". \(credentials) && exec \(CLI.binary) wal push --repo \(location) %p"
        } else {
            let keys = box.root + "/keys"
            try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
            #expect(try CLI.run(["keygen", "--out", keys + "/team"]).status == 0)
            restoreKeys = ["--private-key", keys + "/team.key"]
            secret = try String(contentsOfFile: keys + "/team.key", encoding: .utf8)
                .split(separator: "\n").first { !$0.hasPrefix("#") && !$0.isEmpty }.map(String.init)
        }
        try PostgresServer.giveToOwner(box.root)
        let initArguments =
            ["init", "--repo", location] + (repositoryKind == "write-only" ? ["--encrypt", "--public-key", box.root + "/keys/team.pub"] : [])
        let created = try CLI.runAsClusterOwner(initArguments, environment: environment)
        #expect(created.status == 0, "\(created.output)")
        let server = try PostgresServer(
            in: box.root + "/pg", extraConfig: ["archive_mode = on", "archive_command = '\(archiveCommand)'", "archive_timeout = 1s"])
        try """
        repository: \(location)
        sources:
          phys: {type: postgres, host: 127.0.0.1, port: \(server.port), user: postgres, mode: physical}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        let db = try server.connect()
        try db.query("CREATE TABLE stamps (id serial PRIMARY KEY, t timestamptz NOT NULL DEFAULT clock_timestamp())")
        let backup = try CLI.runAsClusterOwner(["backup", "--policy", box.policy], environment: environment)
        #expect(backup.status == 0, "\(backup.output)")

        // Ten seconds of single-row transactions, a WAL switch every 20 rows.
        let began = Date()
        var n = 0
        while Date().timeIntervalSince(began) < 10 {
            try db.query("INSERT INTO stamps DEFAULT VALUES")
            n += 1
            if n % 20 == 0 { try db.query("SELECT pg_switch_wal()") }
            usleep(100_000)
        }
        let last = try #require(try db.value("SELECT pg_walfile_name(pg_switch_wal())"))
        for _ in 0..<200 where (try db.value("SELECT last_archived_wal FROM pg_stat_archiver")) ?? "" < last { usleep(100_000) }
        #expect(try db.value("SELECT failed_count FROM pg_stat_archiver") == "0", "archive_command failed")
        let rows = try db.query("SELECT id, to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM stamps ORDER BY id")
        #expect(rows.count > 60)
        let k = rows.count / 2
        let a = try #require(Timestamp.parse(rows[k - 1][1]!))
        let b = try #require(Timestamp.parse(rows[k][1]!))
        let target = Timestamp.rfc3339(a.addingTimeInterval(b.timeIntervalSince(a) / 2), fractional: true)
        let archived = try CLI.runAsClusterOwner(["wal", "list", "--repo", location, "--json"] + restoreKeys, environment: environment)
        let listing = try #require(try archived.json() as? [String: Any], "\(archived.output)")
        #expect((listing["files"] as? [Any])?.count ?? 0 >= n / 20, "\(archived.output)")
        #expect(listing["system_identifier"] as? String == (try db.value("SELECT system_identifier::text FROM pg_control_system()")))

        let port = try RedisServer.freePort()
        let datadir = box.root + "/restored"
        let restore = try CLI.runAsClusterOwner(
            ["restore", "--repo", location, "--source", "phys", "--at", target, "--to-datadir", datadir, "--port", String(port), "--start"]
                + restoreKeys, environment: environment)
        defer { PostgresServer.stopRestored(datadir) }
        #expect(restore.status == 0, "\(restore.output)")
        let restored = try PostgresConnection(host: "127.0.0.1", port: port, database: "postgres", user: "postgres", password: nil)
        #expect(try restored.query("SELECT id FROM stamps ORDER BY id").map { Int($0[0]!)! } == Array(1...k))
        // restore_command names the repository and a key file's path, never a secret.
        let settings = try String(contentsOfFile: datadir + "/postgresql.auto.conf", encoding: .utf8)
        #expect(settings.contains("wal fetch --repo") && settings.contains(location))
        if let secret { #expect(!settings.contains(secret) && !restore.output.contains(secret)) }
        if repositoryKind == "write-only" {
            #expect(settings.contains("--private-key"))
            // Without the private key the archive cannot be read.
            let blind = try CLI.runAsClusterOwner(["wal", "fetch", "--repo", location, last, box.root + "/blind"])
            #expect(blind.status != 0 && !FileManager.default.fileExists(atPath: box.root + "/blind"), "\(blind.output)")
        }
    }
}
