import Foundation
import LifeboatCore
import Testing

/// Chroma (a real server from PyPI) and the Qdrant contract server behind a TLS endpoint
/// (scripts/sandbox/tls-proxy.py: neither serves TLS itself), reached over `https://` with the policy's
/// `ca_file`; restores without the policy use the TLS settings the manifest recorded.
@Suite(.serialized) struct VectorStoreTLSTests {
    @Test func chromaOverHTTPSDirectoryAndLogical() throws {
        let box = try Sandbox("chroma-tls")
        let server = try ChromaServer(in: box.root + "/chroma")
        try server.populate(collection: "docs", count: 3000, space: "cosine", seed: 7)
        let ca = TestCA(in: box.root + "/ca")
        let (cert, key) = try ca.issue("chroma", san: "DNS:localhost")
        let proxy = try TLSProxy(upstream: "127.0.0.1:\(server.port)", cert: cert, key: key)
        try """
        repository: \(box.repo)
        sources:
          vectors: {type: chroma, path: \(server.persistDirectory), url: "\(proxy.url)", ca_file: \(ca.caFile), stop: "\(server.stopCommand)", start: "\(server.startCommand)"}
          exported: {type: chroma, url: "\(proxy.url)", ca_file: \(ca.caFile), mode: logical}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        // Directory mode: stop, copy, start, and "serving again" is seen through https.
        let directory = try CLI.run(["backup", "--policy", box.policy, "--source", "vectors"])
        #expect(directory.status == 0, "\(directory.output)")
        #expect(server.isServing)
        let logical = try CLI.run(["backup", "--policy", box.policy, "--source", "exported"])
        #expect(logical.status == 0, "\(logical.output)")

        _ = try server.http().json("DELETE", "\(server.collectionsPath)/docs")
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--source", "exported"])
        #expect(restore.status == 0, "\(restore.output)")
        #expect(try server.counts()["docs"] == 3000)

        // The system trust store does not know the test CA: exit 1, and the fix names ca_file.
        try String(contentsOfFile: box.policy, encoding: .utf8).replacingOccurrences(of: ", ca_file: \(ca.caFile)", with: "")
            .write(toFile: box.policy, atomically: true, encoding: .utf8)
        let untrusted = try CLI.run(["backup", "--policy", box.policy, "--source", "exported"])
        #expect(untrusted.status == 1, "\(untrusted.output)")
        #expect(untrusted.stderr.contains("cannot be trusted") && untrusted.stderr.contains("ca_file"), "\(untrusted.stderr)")
        proxy.stop()
    }

    @Test func qdrantOverHTTPSWithTheAPIKeyInAHeaderOnly() throws {
        let box = try Sandbox("qdrant-tls")
        let apiKey = "contract-key-\(UUID().uuidString)"
        try (apiKey + "\n").write(toFile: box.root + "/key", atomically: true, encoding: .utf8)
        let server = try QdrantContractTests.Server(storage: box.root + "/storage", apiKeyFile: box.root + "/key")
        let ca = TestCA(in: box.root + "/ca")
        let (cert, key) = try ca.issue("qdrant", san: "DNS:localhost")
        let proxy = try TLSProxy(upstream: "127.0.0.1:\(server.port)", cert: cert, key: key)
        let client = try HTTPClient(url: proxy.url, headers: ["api-key": apiKey], tls: TLSSettings(caFile: ca.caFile))
        try QdrantContractTests().populate(client)
        try """
        repository: \(box.repo)
        sources:
          vectors: {type: qdrant, url: "\(proxy.url)", api_key_file: \(box.root)/key, ca_file: \(ca.caFile)}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        let backup = try CLI.run(["backup", "--policy", box.policy])
        #expect(backup.status == 0, "\(backup.output)")
        #expect(!backup.output.contains(apiKey))
        try client.json("DELETE", "/collections/docs")
        try client.json("DELETE", "/collections/images")
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--policy", box.policy, "--source", "vectors"])
        #expect(restore.status == 0, "\(restore.output)")
        #expect(try QdrantContractTests().count(client, "docs") == 400)
        #expect(try QdrantContractTests().count(client, "images") == 250)
        proxy.stop()
    }
}
