import Foundation
import LifeboatCore
import Testing

/// PostgreSQL with `ssl = on` and a pg_hba.conf that accepts TCP only as `hostssl … clientcert=
/// verify-full`: a logical and a physical backup with `sslmode: verify-full` and a client
/// certificate (libpq and the client programs both), a restore, and a server whose certificate
/// names another host refused.
@Suite(.serialized) struct PostgresTLSTests {
    /// A cluster whose certificate names `localhost`, trusting `ca` for client certificates.
    /// WAL goes to the sandbox's repository (`lifeboat wal push`, as the cluster's owner).
    func tlsServer(_ box: Sandbox, ca: TestCA) throws -> PostgresServer {
        let (cert, key) = try ca.issue("pg-server", san: "DNS:localhost")
        try PostgresServer.giveToOwner(box.root)
        let created = try CLI.runAsClusterOwner(["init", "--repo", box.repo])
        #expect(created.status == 0, "\(created.output)")
        let server = try PostgresServer(
            in: box.root + "/pg",
            extraConfig: [
                "ssl = on", "ssl_cert_file = '\(cert)'", "ssl_key_file = '\(key)'", "ssl_ca_file = '\(ca.caFile)'",
                "archive_mode = on", "archive_command = '\(CLI.binary) wal push --repo \(box.repo) %p'",
            ])
        // TCP only over TLS with a verified client certificate (CN = the user); the private socket stays trust.
        let hba = server.dataDirectory + "/pg_hba.conf"
        try """
        local all all trust
        local replication all trust
        hostssl all all 127.0.0.1/32 trust clientcert=verify-full
        hostssl replication all 127.0.0.1/32 trust clientcert=verify-full
        hostssl all all ::1/128 trust clientcert=verify-full
        hostssl replication all ::1/128 trust clientcert=verify-full
        """.write(toFile: hba, atomically: true, encoding: .utf8)
        try PostgresServer.giveToOwner(hba)
        try local(server).query("SELECT pg_reload_conf()")
        return server
    }

    /// Over the private Unix socket (not TLS: the tests' own view of the data).
    func local(_ server: PostgresServer, _ database: String = "postgres") throws -> PostgresConnection {
        try PostgresConnection(host: server.directory, port: server.port, database: database, user: "postgres", password: nil)
    }

    @Test func logicalAndPhysicalBackupsWithVerifyFullAndAClientCertificate() throws {
        let box = try Sandbox("pg-tls")
        let ca = TestCA(in: box.root + "/ca")
        let server = try tlsServer(box, ca: ca)
        try local(server).query("CREATE DATABASE app")
        try local(server, "app").query(
            "CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes SELECT g, md5(g::text) FROM generate_series(1, 5000) g")
        let before = try PostgresServer.tableChecksums(try local(server, "app"))
        let (clientCert, clientKey) = try ca.issue("postgres", san: "DNS:postgres", client: true)
        try PostgresServer.giveToOwner(box.root)  // the backup runs as the cluster's owner
        let secret = "pw-\(UUID().uuidString)"
        try secret.write(toFile: box.root + "/pgpass", atomically: true, encoding: .utf8)
        chmod(box.root + "/pgpass", 0o600)
        try PostgresServer.giveToOwner(box.root + "/pgpass")
        let ssl = "sslmode: verify-full, sslrootcert: \(ca.caFile), sslcert: \(clientCert), sslkey: \(clientKey), password_file: \(box.root)/pgpass"
        try """
        repository: \(box.repo)
        sources:
          db: {type: postgres, host: localhost, port: \(server.port), database: app, user: postgres, \(ssl)}
          phys: {type: postgres, host: localhost, port: \(server.port), user: postgres, mode: physical, \(ssl)}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        try PostgresServer.giveToOwner(box.policy)

        // The password reaches pg_dump and pg_basebackup through their environment: no process
        // of this machine shows it in its argv while the backup runs.
        let (process, out, err) = try CLI.start(
            ["backup", "--policy", box.policy, "--json"], in: "/",
            prefix: geteuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] : [])
        var seenInArgv = false
        while process.isRunning {
            for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where pid.allSatisfy(\.isNumber) {
                if let argv = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), String(decoding: argv, as: UTF8.self).contains(secret) {
                    seenInArgv = true
                }
            }
            usleep(20_000)
        }
        let backup = CLI.Result(status: process.terminationStatus, stdout: CLI.read(out), stderr: CLI.read(err))
        #expect(backup.status == 0, "\(backup.output)")
        #expect(!seenInArgv)
        #expect(!backup.output.contains(secret))
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0)

        // The manifest records the TLS settings (paths, no secret), and the restore uses them.
        try local(server).query("DROP DATABASE app")
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--source", "db", "--to-database", "app"])
        #expect(restore.status == 0, "\(restore.output)")
        #expect(try PostgresServer.tableChecksums(try local(server, "app")) == before)
        let manifests = try FileManager.default.contentsOfDirectory(atPath: box.repo + "/snapshots")
        for name in manifests {
            let text = try String(contentsOfFile: box.repo + "/snapshots/" + name, encoding: .utf8)
            #expect(!text.contains(secret) && !text.contains("PRIVATE KEY"))
        }

        // Without the client certificate the server refuses the connection.
        try String(contentsOfFile: box.policy, encoding: .utf8).replacingOccurrences(of: ", sslcert: \(clientCert), sslkey: \(clientKey)", with: "")
            .write(toFile: box.policy, atomically: true, encoding: .utf8)
        let refused = try CLI.runAsClusterOwner(["backup", "--policy", box.policy, "--source", "db"])
        #expect(refused.status != 0, "\(refused.output)")
        #expect(refused.stderr.contains("certificate"), "\(refused.stderr)")
    }

    @Test func aServerCertificateForAnotherNameIsRefused() throws {
        let box = try Sandbox("pg-tls-name")
        let ca = TestCA(in: box.root + "/ca")
        let server = try tlsServer(box, ca: ca)
        let (clientCert, clientKey) = try ca.issue("postgres", san: "DNS:postgres", client: true)
        // 127.0.0.1 reaches the server, but its certificate is for localhost only.
        try """
        repository: \(box.repo)
        sources:
          db: {type: postgres, host: 127.0.0.1, port: \(server.port), user: postgres, sslmode: verify-full, sslrootcert: \(ca.caFile), sslcert: \(clientCert), sslkey: \(clientKey)}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        let refused = try CLI.run(["backup", "--policy", box.policy])
        #expect(refused.status == 1, "\(refused.output)")
        #expect(refused.stderr.contains("does not match host name"), "\(refused.stderr)")
        #expect(refused.stderr.contains("fix:"))
        #expect((try CLI.run(["snapshots", "--repo", box.repo, "--json"]).json() as? [Any])?.count == 0)
        // A mode libpq does not know is a policy error with the line.
        try String(contentsOfFile: box.policy, encoding: .utf8).replacingOccurrences(of: "verify-full", with: "verify-everything")
            .write(toFile: box.policy, atomically: true, encoding: .utf8)
        let typo = try CLI.run(["backup", "--policy", box.policy])
        #expect(typo.status == 2 && typo.stderr.contains("policy.yaml:3") && typo.stderr.contains("verify-full"), "\(typo.output)")
    }
}
