import Foundation
import LifeboatCore
import Testing

/// Redis over TLS with client certificates (`tls-auth-clients yes`), and over a Unix socket:
/// capture by BGSAVE and by the replication transfer, restore into the server, digests equal.
@Suite(.serialized) struct RedisTLSTests {
    /// A TLS-only server (`port 0`) demanding client certificates from `ca`; as a client of
    /// others (a restore connecting to it) it presents `client`.
    func tlsServer(_ box: Sandbox, ca: TestCA, bind: String = "127.0.0.1") throws -> (RedisServer, client: (cert: String, key: String)) {
        let server = try ca.issue("redis", san: "DNS:localhost,IP:127.0.0.1")
        let client = try ca.issue("backup-host", san: "DNS:backup-host", client: true)
        let redis = try RedisServer(
            in: box.root + "/redis",
            extraConfig: [
                "bind \(bind)", "port 0", "tls-port $PORT", "tls-cert-file \(server.cert)", "tls-key-file \(server.key)",
                "tls-ca-cert-file \(ca.caFile)", "tls-auth-clients yes",
                "tls-client-cert-file \(client.cert)", "tls-client-key-file \(client.key)",
                "tls-replication yes", "repl-diskless-sync-delay 0",
            ], endpoint: { .tcp("127.0.0.1", $0, tls: TLSSettings(caFile: ca.caFile, certFile: client.cert, keyFile: client.key)) })
        return (redis, client)
    }

    func policy(_ box: Sandbox, _ source: String) throws {
        try """
        repository: \(box.repo)
        sources:
          cache: {\(source)}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        if !FileManager.default.fileExists(atPath: box.repo) {
            let created = try CLI.run(["init", "--repo", box.repo])
            #expect(created.status == 0, "\(created.output)")
        }
    }

    @Test func bgsaveAndReplicaCaptureOverTLSWithAClientCertificateRestoreToTheSameDigest() throws {
        let box = try Sandbox("redis-tls")
        let ca = TestCA(in: box.root + "/ca")
        let (server, client) = try tlsServer(box, ca: ca)
        try server.populate(keys: 50_000)
        let before = try server.digest()
        let tls = "tls: true, ca_file: \(ca.caFile), cert_file: \(client.cert), key_file: \(client.key)"
        try policy(box, "type: redis, host: localhost, port: \(server.port), \(tls), config: \(server.config)")
        let bgsave = try CLI.run(["backup", "--policy", box.policy])
        #expect(bgsave.status == 0, "\(bgsave.output)")

        try """
        repository: \(box.repo)
        sources:
          cache: {type: redis, host: 127.0.0.1, port: \(server.port), \(tls), method: replica}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        let replica = try CLI.run(["backup", "--policy", box.policy, "--json"])
        #expect(replica.status == 0, "\(replica.output)")
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0)

        // Restore into the TLS-only server through its redis.conf (its TLS port, its CA, its
        // client certificate): the data comes back whole.
        try server.client().expect("FLUSHALL")
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--source", "cache", "--to-config", server.config])
        #expect(restore.status == 0, "\(restore.output)")
        #expect(try server.digest() == before)

        // Without a client certificate the server refuses, and the error says what to give.
        try policy(box, "type: redis, host: 127.0.0.1, port: \(server.port), tls: true, ca_file: \(ca.caFile)")
        let refused = try CLI.run(["backup", "--policy", box.policy])
        #expect(refused.status == 1, "\(refused.output)")
        #expect(refused.stderr.contains("cert_file"), "\(refused.stderr)")
        // Plain TCP to a TLS port is not "connection closed": it says the server speaks TLS.
        // And TLS keys without `tls: true` are a policy error, not silently plain.
        try policy(box, "type: redis, port: \(server.port), ca_file: \(ca.caFile)")
        let plain = try CLI.run(["backup", "--policy", box.policy])
        #expect(plain.status == 2 && plain.stderr.contains("tls: true"), "\(plain.output)")
    }

    @Test func aServerCertificateForAnotherNameIsRefused() throws {
        let box = try Sandbox("redis-tls-name")
        let ca = TestCA(in: box.root + "/ca")
        let (server, client) = try tlsServer(box, ca: ca, bind: "127.0.0.1 127.0.0.2")
        try policy(
            box,
            "type: redis, host: 127.0.0.2, port: \(server.port), tls: true, ca_file: \(ca.caFile), cert_file: \(client.cert), key_file: \(client.key), method: replica"
        )
        // 127.0.0.2 reaches the same loopback server, but the certificate names 127.0.0.1.
        let refused = try CLI.run(["backup", "--policy", box.policy])
        #expect(refused.status == 1, "\(refused.output)")
        #expect(refused.stderr.contains("not for 127.0.0.2"), "\(refused.stderr)")
    }

    @Test func captureAndRestoreOverAUnixSocket() throws {
        let box = try Sandbox("redis-socket")
        let socket = box.root + "/redis/redis.sock"
        let server = try RedisServer(
            in: box.root + "/redis", extraConfig: ["port 0", "unixsocket \(socket)", "unixsocketperm 700"],
            endpoint: { _ in Endpoint(.unix(path: socket)) })
        try server.populate(keys: 20_000)
        let before = try server.digest()
        try policy(box, "type: redis, socket: \(socket), config: \(server.config)")
        let backup = try CLI.run(["backup", "--policy", box.policy])
        #expect(backup.status == 0, "\(backup.output)")
        try server.client().expect("FLUSHALL")
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--source", "cache", "--to-config", server.config])
        #expect(restore.status == 0, "\(restore.output)")
        #expect(try server.digest() == before)
        // A socket nobody listens on: the error names it and says what to check.
        try policy(box, "type: redis, socket: \(box.root)/nowhere.sock")
        let missing = try CLI.run(["backup", "--policy", box.policy])
        #expect(missing.status == 1 && missing.stderr.contains("nowhere.sock") && missing.stderr.contains("fix:"), "\(missing.output)")
    }
}
