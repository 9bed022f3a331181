import Foundation
import LifeboatCore
import Testing

/// The qdrant source against scripts/sandbox/qdrant-contract-server.py, which implements Qdrant's
/// documented snapshot and search endpoints (no Qdrant server can run on our build machines;
/// the README says so): capture, delete, restore by upload and by server-side recover, the API
/// key, a damaged download, a full-storage snapshot.
@Suite(.serialized) struct QdrantContractTests {
    final class Server {
        let process = Process()
        let port: Int
        let url: String
        init(storage: String, apiKeyFile: String?) throws {
            port = try RedisServer.freePort()
            url = "http://127.0.0.1:\(port)"
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments =
                ["python3", PostgresServer.sandboxScripts + "/qdrant-contract-server.py", String(port), storage]
                + (apiKeyFile.map { ["--api-key-file", $0] } ?? [])
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            for _ in 0..<100 {
                if (try? HTTPClient(url: url, attempts: 1).request("GET", "/", retry: false)) != nil { return }
                usleep(50_000)
            }
            throw LifeboatError(.operationFailed, "the Qdrant contract server did not start")
        }
        deinit {
            // SIGKILL: Foundation's Process starts the child with the spawning thread's signal
            // mask, in which SIGTERM may be blocked.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Two collections of 16-dimensional vectors through the API.
    func populate(_ client: HTTPClient) throws {
        var seed: UInt64 = 42
        func random() -> Double {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(seed >> 11) / Double(1 << 53) - 0.5
        }
        for (name, count, distance) in [("docs", 400, "Cosine"), ("images", 250, "Euclid")] {
            try client.json("PUT", "/collections/\(name)", body: ["vectors": ["size": 16, "distance": distance]])
            let points = (0..<count).map { i in ["id": i, "vector": (0..<16).map { _ in random() }, "payload": ["n": i]] as [String: Any] }
            try client.json("PUT", "/collections/\(name)/points", body: ["points": points])
        }
    }

    func count(_ client: HTTPClient, _ name: String) throws -> Int? {
        let response = try client.request("GET", "/collections/\(name)")
        guard response.status == 200 else { return nil }
        return ((try response.json() as? [String: Any])?["result"] as? [String: Any])?["points_count"] as? Int
    }

    @Test func backupDeleteRestoreWithAnAPIKey() throws {
        let box = try Sandbox("qdrant")
        try "contract-key-\(UUID().uuidString)\n".write(toFile: box.root + "/key", atomically: true, encoding: .utf8)
        let key = try String(contentsOfFile: box.root + "/key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let server = try Server(storage: box.root + "/storage", apiKeyFile: box.root + "/key")
        let client = try HTTPClient(url: server.url, headers: ["api-key": key])
        try populate(client)
        try """
        repository: \(box.repo)
        sources:
          vectors: {type: qdrant, url: "\(server.url)", api_key_file: \(box.root)/key}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        let backup = try CLI.run(["backup", "--policy", box.policy])
        #expect(backup.status == 0, "\(backup.output)")
        #expect(!backup.output.contains(key))
        let manifestText = try String(
            contentsOfFile: box.repo + "/snapshots/"
                + (try FileManager.default.contentsOfDirectory(atPath: box.repo + "/snapshots").first { $0.hasSuffix(".json") }!), encoding: .utf8)
        #expect(!manifestText.contains(key))
        let manifest = try #require(try CLI.run(["show", "latest", "--repo", box.repo, "--json"]).json() as? [String: Any])
        let metadata = try #require((manifest["components"] as? [[String: Any]])?.first?["metadata"] as? [String: Any])
        let collections = try #require(metadata["collections"] as? [[String: Any]])
        #expect(
            collections.map { "\($0["name"]!) \($0["count"]!) \($0["dimension"]!) \($0["metric"]!)" }.sorted()
                == ["docs 400 16 Cosine", "images 250 16 Euclid"])
        #expect(metadata["server_version"] as? String == "1.12.4")
        // The server's snapshot copies are deleted after download.
        for name in ["docs", "images"] {
            #expect((try client.json("GET", "/collections/\(name)/snapshots") as? [String: Any])?["result"] as? [Any] != nil)
            #expect(((try client.json("GET", "/collections/\(name)/snapshots") as? [String: Any])?["result"] as? [Any])?.isEmpty == true)
        }
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0)

        try client.json("DELETE", "/collections/docs")
        let refused = try CLI.run(["restore", "latest", "--repo", box.repo, "--policy", box.policy, "--source", "vectors"])
        #expect(refused.status == 2, "\(refused.output)")  // images exists
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--policy", box.policy, "--source", "vectors", "--force"])
        #expect(restore.status == 0, "\(restore.output)")
        #expect(restore.stdout.contains("3/3 probe queries return the captured neighbours exactly"))
        #expect(try count(client, "docs") == 400 && count(client, "images") == 250)

        // A wrong key: exit 2, no snapshot.
        try "wrong\n".write(toFile: box.root + "/key", atomically: true, encoding: .utf8)
        let denied = try CLI.run(["backup", "--policy", box.policy])
        #expect(denied.status == 2, "\(denied.output)")
        #expect(denied.stderr.contains("401") && denied.stderr.contains("API key"))
        #expect((try CLI.run(["snapshots", "--repo", box.repo, "--json"]).json() as? [Any])?.count == 1)
    }

    @Test func aDownloadThatDiffersFromTheServersChecksumFailsTheBackup() throws {
        let box = try Sandbox("qdrant-corrupt")
        let server = try Server(storage: box.root + "/storage", apiKeyFile: nil)
        let client = try HTTPClient(url: server.url)
        try populate(client)
        try "repository: \(box.repo)\nsources:\n  vectors: {type: qdrant, url: \"\(server.url)\", collections: [docs]}\n"
            .write(toFile: box.policy, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        try client.json("POST", "/__fault", body: ["corrupt_next_download": true])
        let backup = try CLI.run(["backup", "--policy", box.policy])
        #expect(backup.status == 1, "\(backup.output)")
        #expect(backup.stderr.contains("but the server reports"))
        #expect((try CLI.run(["snapshots", "--repo", box.repo, "--json"]).json() as? [Any])?.isEmpty == true)
    }

    @Test func snapshotFilesAndServerSideRecoverAndFullStorage() throws {
        let box = try Sandbox("qdrant-recover")
        let server = try Server(storage: box.root + "/storage", apiKeyFile: nil)
        let client = try HTTPClient(url: server.url)
        try populate(client)
        try """
        repository: \(box.repo)
        sources:
          vectors: {type: qdrant, url: "\(server.url)"}
          storage: {type: qdrant, url: "\(server.url)", mode: full}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        #expect(try CLI.run(["backup", "--policy", box.policy]).status == 0)
        // The snapshot files, then the server fetches them itself (file:// location).
        let files = try CLI.run(["restore", "latest", "--repo", box.repo, "--source", "vectors", "--to", box.root + "/files"])
        #expect(files.status == 0, "\(files.output)")
        #expect(FileManager.default.fileExists(atPath: box.root + "/files/collections/docs.snapshot"))
        try client.json("DELETE", "/collections/docs")
        try client.json("DELETE", "/collections/images")
        let recover = try CLI.run([
            "restore", "latest", "--repo", box.repo, "--source", "vectors",
            "--recover-from", "file://\(box.root)/files/collections",
        ])
        #expect(recover.status == 0, "\(recover.output)")
        #expect(try count(client, "docs") == 400 && count(client, "images") == 250)
        // A full-storage snapshot is written out for `qdrant --storage-snapshot`, not uploaded.
        let full = try CLI.run(["restore", "latest", "--repo", box.repo, "--source", "storage", "--force"])
        #expect(full.status == 2, "\(full.output)")
        #expect(full.stderr.contains("--storage-snapshot"))
        let out = try CLI.run(["restore", "latest", "--repo", box.repo, "--source", "storage", "--to", box.root + "/full"])
        #expect(out.status == 0, "\(out.output)")
        let names = try FileManager.default.contentsOfDirectory(atPath: box.root + "/full/full")
        #expect(names.count == 1 && names[0].hasSuffix(".snapshot"))
    }
}
