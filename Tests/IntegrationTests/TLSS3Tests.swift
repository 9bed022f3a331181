import Foundation
import LifeboatCore
import Testing

/// S3 over https on a real Ceph RGW (beast's ssl_endpoint with a certificate from the sandbox's
/// own CA), and TLS failures against scripts/sandbox/tls-proxy.py in front of the same gateway.
@Suite(.serialized) struct TLSS3Tests {
    let rgw = RGWServer.shared

    /// A sandbox with config files and `megabytes` of random data, and a policy whose `s3:` map
    /// holds `s3` (endpoint and TLS keys) for a new repository, created over https.
    func sandbox(_ label: String, s3: String, megabytes: Int = 0, bucket: String? = nil) throws -> (Sandbox, String) {
        let box = try Sandbox(label)
        try box.populateConfigTree()
        if megabytes > 0 { try box.file("blob.bin", Sandbox.randomBytes(megabytes << 20)) }
        let location = bucket.map { "s3://\($0)/\(label)-\(UUID().uuidString.prefix(8).lowercased())" } ?? rgw.newRepository(label)
        try """
        repository: \(location)
        s3: {part_size_mib: 5, \(s3)}
        sources:
          cfg: {type: files, path: \(box.source)}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        let created = try CLI.run(["init", "--repo", location], environment: httpsEnvironment)
        #expect(created.status == 0, "\(created.output)")
        return (box, location)
    }

    /// The AWS environment pointed at the https endpoint, trusting the sandbox's CA.
    var httpsEnvironment: [String: String] {
        rgw.environment.merging(["AWS_ENDPOINT_URL": rgw.httpsEndpoint, "AWS_CA_BUNDLE": rgw.caFile]) { $1 }
    }

    @Test func backupVerifyAndRestoreOverHTTPS() throws {
        let (box, location) = try sandbox("tls-roundtrip", s3: "endpoint: \(rgw.httpsEndpoint), ca_file: \(rgw.caFile)", megabytes: 12)
        // The policy's ca_file is what counts: AWS_CA_BUNDLE points at the system store here.
        let env = rgw.environment.merging(["AWS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt"]) { $1 }
        let backup = try CLI.run(["backup", "--policy", box.policy, "--json"], environment: env)
        #expect(backup.status == 0, "\(backup.output)")
        let deep = try CLI.run(["verify", "--repo", location, "--deep"], environment: httpsEnvironment)
        #expect(deep.status == 0, "\(deep.output)")
        let restored = box.root + "/restored"
        let restore = try CLI.run(["restore", "--policy", box.policy, "latest", "--source", "cfg", "--to", restored], environment: env)
        #expect(restore.status == 0, "\(restore.output)")
        #expect(try Sandbox.describeTree(restored) == Sandbox.describeTree(box.source))
        // The same objects over plain http: one repository, two transports.
        let plain = try CLI.run(["snapshots", "--repo", location, "--json"], environment: rgw.environment)
        #expect((try plain.json() as? [Any])?.count == 1)
    }

    @Test func aCertificateFromAnUnknownCAIsExit1AndStoresNothing() throws {
        let stranger = TestCA(in: NSTemporaryDirectory() + "lifeboat-stranger-ca-\(UUID().uuidString.prefix(8))")
        try stranger.issue("unused", san: "DNS:localhost")
        defer { try? FileManager.default.removeItem(atPath: stranger.directory) }
        let (box, location) = try sandbox("tls-unknown-ca", s3: "endpoint: \(rgw.httpsEndpoint), ca_file: \(stranger.caFile)")
        let started = Date()
        let backup = try CLI.run(["backup", "--policy", box.policy], environment: rgw.environment)
        #expect(backup.status == 1, "\(backup.output)")
        #expect(backup.stderr.contains("https://localhost:"))
        #expect(backup.stderr.contains("cannot be trusted"))
        #expect(backup.stderr.contains("unknown CA"))
        #expect(backup.stderr.contains("fix:") && backup.stderr.contains(stranger.caFile))
        // Not retried with backoff (about 7 s over five attempts): a certificate does not get
        // better by waiting.
        #expect(Date().timeIntervalSince(started) < 5)
        let storage = try rgw.storage(location)
        #expect(try storage.list("snapshots/").isEmpty)
        #expect(try storage.list("data/").isEmpty)
        // Never downgraded: the same policy with an http endpoint and TLS keys is refused at load.
        try String(contentsOfFile: box.policy, encoding: .utf8).replacingOccurrences(of: rgw.httpsEndpoint, with: rgw.endpoint)
            .write(toFile: box.policy, atomically: true, encoding: .utf8)
        let plain = try CLI.run(["backup", "--policy", box.policy], environment: rgw.environment)
        #expect(plain.status == 2, "\(plain.output)")
        #expect(plain.stderr.contains("policy.yaml:2") && plain.stderr.contains("https://"), "\(plain.stderr)")
    }

    @Test func aCertificateForAnotherNameIsRefusedAndInsecureSkipVerifyWarns() throws {
        let box = try Sandbox("tls-wrong-name")
        let ca = TestCA(in: box.root + "/ca")
        let (cert, key) = try ca.issue("elsewhere", san: "DNS:elsewhere.example")
        let proxy = try TLSProxy(upstream: "127.0.0.1:\(rgw.port)", cert: cert, key: key)
        let location = rgw.newRepository("tls-wrong-name")
        let env = rgw.environment.merging(["AWS_ENDPOINT_URL": proxy.url, "AWS_CA_BUNDLE": ca.caFile]) { $1 }
        let refused = try CLI.run(["init", "--repo", location], environment: env)
        #expect(refused.status == 1, "\(refused.output)")
        #expect(refused.stderr.contains("not for localhost"), "\(refused.stderr)")
        #expect(refused.stderr.contains("subjectAltName"))
        // A certificate past its end date: said so, with the fix.
        let (old, oldKey) = try ca.issue("expired", san: "DNS:localhost", expired: true)
        let expiredProxy = try TLSProxy(upstream: "127.0.0.1:\(rgw.port)", cert: old, key: oldKey)
        let expired = try CLI.run(
            ["init", "--repo", location],
            environment: rgw.environment.merging(["AWS_ENDPOINT_URL": expiredProxy.url, "AWS_CA_BUNDLE": ca.caFile]) { $1 })
        #expect(expired.status == 1, "\(expired.output)")
        #expect(expired.stderr.contains("has expired") && expired.stderr.contains("renew"), "\(expired.stderr)")
        expiredProxy.stop()
        // insecure_skip_verify is explicit and loud: it works, and says so on every run.
        try box.populateConfigTree()
        try """
        repository: \(location)
        s3: {endpoint: \(proxy.url), insecure_skip_verify: true}
        sources:
          cfg: {type: files, path: \(box.source)}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["init", "--repo", location], environment: rgw.environment).status == 0)
        let backup = try CLI.run(["backup", "--policy", box.policy], environment: rgw.environment)
        #expect(backup.status == 0, "\(backup.output)")
        #expect(backup.stderr.contains("verification is OFF"))
        proxy.stop()
    }

    @Test func aClientCertificateIsSentWhenTheServerAsksForOne() throws {
        let box = try Sandbox("tls-client-cert")
        let ca = TestCA(in: box.root + "/ca")
        let (cert, key) = try ca.issue("gateway", san: "DNS:localhost")
        let (clientCert, clientKey) = try ca.issue("backup-host", san: "DNS:backup-host", client: true)
        let proxy = try TLSProxy(upstream: "127.0.0.1:\(rgw.port)", cert: cert, key: key, clientCA: ca.caFile)
        let location = rgw.newRepository("tls-client-cert")
        #expect(try CLI.run(["init", "--repo", location], environment: rgw.environment).status == 0)
        try box.populateConfigTree()
        let policy = { (keys: String) in
            try """
            repository: \(location)
            s3: {endpoint: \(proxy.url), ca_file: \(ca.caFile)\(keys)}
            sources:
              cfg: {type: files, path: \(box.source)}
            """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        }
        try policy("")
        let without = try CLI.run(["backup", "--policy", box.policy], environment: rgw.environment)
        #expect(without.status == 1, "\(without.output)")
        #expect(without.stderr.contains("cert_file"), "\(without.stderr)")
        try policy(", cert_file: \(clientCert), key_file: \(clientKey)")
        let with = try CLI.run(["backup", "--policy", box.policy], environment: rgw.environment)
        #expect(with.status == 0, "\(with.output)")
        // A certificate without its key is a policy error with the line.
        try policy(", cert_file: \(clientCert)")
        let half = try CLI.run(["backup", "--policy", box.policy], environment: rgw.environment)
        #expect(half.status == 2 && half.stderr.contains("key_file"), "\(half.output)")
        proxy.stop()
    }

    @Test func virtualHostedAddressingOverHTTPS() throws {
        // rgw_dns_name = localhost: Host "lb-virtual-hosted.localhost", and the certificate names
        // that virtual host, which is what the client checks (SNI and verification).
        let (box, location) = try sandbox(
            "tls-vhost", s3: "endpoint: \(rgw.httpsEndpoint), ca_file: \(rgw.caFile), path_style: false",
            bucket: "lb-virtual-hosted")
        let backup = try CLI.run(["backup", "--policy", box.policy], environment: rgw.environment)
        #expect(backup.status == 0, "\(backup.output)")
        let restored = box.root + "/restored"
        let restore = try CLI.run(["restore", "--policy", box.policy, "latest", "--source", "cfg", "--to", restored], environment: rgw.environment)
        #expect(restore.status == 0, "\(restore.output)")
        #expect(try Sandbox.describeTree(restored) == Sandbox.describeTree(box.source))
        // The objects are in the bucket, as path-style addressing sees it.
        #expect(try rgw.storage(location).list("snapshots/").count == 1)
    }

    @Test func aMultipartUploadReusesItsConnections() throws {
        var settings = rgw.settings(partSize: 5 << 20)
        settings.endpoint = rgw.httpsEndpoint
        settings.tls = TLSSettings(caFile: rgw.caFile)
        settings.uploadsInFlight = 2
        let location = rgw.newRepository("tls-keepalive")
        let storage = try #require(try StorageSettings.storage(for: location, settings: settings) as? S3Storage)
        try storage.ensureBucket()
        let before = storage.connectionsOpened
        let writer = try storage.writer("data/big")
        let part = Sandbox.randomBytes(1 << 20)
        for _ in 0..<60 { try part.withUnsafeBytes { try writer.write($0) } }  // 12 parts of 5 MiB
        _ = try writer.commit()
        #expect(try storage.size("data/big") == 60 << 20)
        let opened = storage.connectionsOpened - before
        #expect(opened >= 1 && opened <= settings.uploadsInFlight! + 1, "opened \(opened) connections for 12 parts")
    }

    @Test func aDownloadBrokenMidBodyResumesWithARangeRequest() throws {
        let box = try Sandbox("tls-resume")
        let ca = TestCA(in: box.root + "/ca")
        let (cert, key) = try ca.issue("gateway", san: "DNS:localhost")
        let log = box.root + "/requests.log"
        let proxy = try TLSProxy(upstream: "127.0.0.1:\(rgw.port)", cert: cert, key: key, cutAfter: 5 << 20, log: log)
        let location = rgw.newRepository("tls-resume")
        let direct = try rgw.storage(location)
        _ = try Repository.create(at: location, settings: rgw.settings())
        let object = Sandbox.randomBytes(20 << 20)
        try direct.put("data/object", object)

        var settings = rgw.settings()
        settings.endpoint = proxy.url
        settings.tls = TLSSettings(caFile: ca.caFile)
        let storage = try StorageSettings.storage(for: location, settings: settings)
        let reader = try #require(try storage.reader("data/object"))
        var read: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
            if n == 0 { break }
            read += buffer[0..<n]
        }
        #expect(read.count == object.count)
        #expect(read == object)
        #expect(reader.digest.sha256 == SHA256Hasher.hex(of: object))
        // The second GET asked for the rest only, on the first answer's ETag.
        let requests = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").filter {
            $0.hasPrefix("GET ") && $0.contains("data/object")
        }
        #expect(requests.count == 2, "\(requests)")
        #expect(requests.last?.lowercased().contains("range: bytes=") == true, "\(requests)")
        proxy.stop()
    }
}
