import Foundation
import LifeboatCore
import Testing

/// The chroma source against a real Chroma server from PyPI: 10,000 384-dimensional vectors in
/// two collections, backed up, one collection deleted, restored; counts and probe queries equal.
@Suite(.serialized) struct ChromaTests {
    func setUp(_ label: String) throws -> (Sandbox, ChromaServer) {
        let box = try Sandbox(label)
        let server = try ChromaServer(in: box.root + "/chroma")
        try server.populate(collection: "docs", count: 6000, space: "cosine", seed: 1)
        try server.populate(collection: "images", count: 4000, space: "l2", seed: 2)
        try """
        repository: \(box.repo)
        sources:
          vectors: {type: chroma, path: \(server.persistDirectory), url: "\(server.url)", stop: "\(server.stopCommand)", start: "\(server.startCommand)"}
          exported: {type: chroma, url: "\(server.url)", mode: logical}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        return (box, server)
    }

    func collections(_ box: Sandbox) throws -> [[String: Any]] {
        let manifest = try #require(try CLI.run(["show", "latest", "--repo", box.repo, "--json"]).json() as? [String: Any])
        let metadata = try #require((manifest["components"] as? [[String: Any]])?.first?["metadata"] as? [String: Any])
        return try #require(metadata["collections"] as? [[String: Any]])
    }

    @Test func directoryBackupDeleteRestoreGivesEqualCountsAndProbes() throws {
        let (box, server) = try setUp("chroma-dir")
        let before = try server.counts()
        #expect(before == ["docs": 6000, "images": 4000])

        let backup = try CLI.run(["backup", "--policy", box.policy, "--source", "vectors"])
        #expect(backup.status == 0, "\(backup.output)")
        #expect(server.isServing)  // started again after the copy
        let manifest = try #require(try CLI.run(["show", "latest", "--repo", box.repo, "--json"]).json() as? [String: Any])
        let component = try #require((manifest["components"] as? [[String: Any]])?.first)
        let metadata = try #require(component["metadata"] as? [String: Any])
        #expect((metadata["downtime_seconds"] as? Double ?? 0) > 0)
        let entries = try #require(component["entries"] as? [[String: Any]]).compactMap { $0["path"] as? String }
        #expect(entries.contains("chroma.sqlite3"))
        #expect(entries.contains { $0.hasSuffix("/data_level0.bin") })
        let recorded = try collections(box)
        #expect(Set(recorded.compactMap { $0["name"] as? String }) == ["docs", "images"])
        for c in recorded {
            #expect(c["dimension"] as? Int == 384)
            #expect((c["probes"] as? [[String: Any]])?.count == 3)
        }
        #expect(recorded.first { $0["name"] as? String == "images" }?["metric"] as? String == "l2")

        _ = try server.http().json("DELETE", "\(server.collectionsPath)/docs")
        #expect(try server.counts() == ["images": 4000])
        // The live directory is not empty: refused without --force, nothing touched.
        let refused = try CLI.run([
            "restore", "latest", "--repo", box.repo, "--policy", box.policy, "--source", "vectors",
            "--to-path", server.persistDirectory,
        ])
        #expect(refused.status == 2, "\(refused.output)")
        #expect(try server.counts() == ["images": 4000])

        let restore = try CLI.run([
            "restore", "latest", "--repo", box.repo, "--policy", box.policy, "--source", "vectors",
            "--to-path", server.persistDirectory, "--force", "--json",
        ])
        #expect(restore.status == 0, "\(restore.output)")
        #expect(server.isServing)
        #expect(try server.counts() == before)
        // Probe queries, asked here independently, return the captured neighbours.
        let client = try server.http()
        for c in recorded {
            let name = c["name"] as! String
            let id = (try client.json("GET", "\(server.collectionsPath)/\(name)") as! [String: Any])["id"] as! String
            for probe in c["probes"] as! [[String: Any]] {
                let answer =
                    try client.json(
                        "POST", "\(server.collectionsPath)/\(id)/query",
                        body: ["query_embeddings": [probe["vector"]!], "n_results": 5, "include": ["distances"]]) as! [String: Any]
                #expect((answer["ids"] as? [[String]])?.first == probe["ids"] as? [String])
            }
        }
        let outcome = try #require((try restore.json() as? [String: Any])?["outcome"] as? [String: Any])
        #expect((outcome["previous_moved_to"] as? String).map { FileManager.default.fileExists(atPath: $0) } == true)
    }

    @Test func logicalExportNeedsNoDowntimeAndRestoresByReAdding() throws {
        let (box, server) = try setUp("chroma-logical")
        let backup = try CLI.run(["backup", "--policy", box.policy, "--source", "exported"])
        #expect(backup.status == 0, "\(backup.output)")
        #expect(FileManager.default.fileExists(atPath: server.directory + "/chroma.pid"))  // never stopped
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0)

        _ = try server.http().json("DELETE", "\(server.collectionsPath)/docs")
        let refused = try CLI.run(["restore", "latest", "--repo", box.repo, "--source", "exported"])
        #expect(refused.status == 2, "\(refused.output)")  // images still exists
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--source", "exported", "--force"])
        #expect(restore.status == 0, "\(restore.output)")
        let counts = try server.counts()
        #expect(counts["docs"] == 6000 && counts["images"] == 4000)
        // The collection it replaced is kept aside, not deleted.
        #expect(counts.contains { $0.key.hasPrefix("images-lifeboat-previous-") && $0.value == 4000 })
    }

    @Test func aFailingStopCommandLeavesTheServerServingAndNoSnapshot() throws {
        let box = try Sandbox("chroma-stopfail")
        let server = try ChromaServer(in: box.root + "/chroma")
        try """
        repository: \(box.repo)
        sources:
          vectors: {type: chroma, path: \(server.persistDirectory), url: "\(server.url)", stop: "exit 3", start: "\(server.startCommand)"}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        let backup = try CLI.run(["backup", "--policy", box.policy])
        #expect(backup.status == 1, "\(backup.output)")
        #expect(backup.stderr.contains("stop command failed"))
        #expect(server.isServing)
        #expect((try CLI.run(["snapshots", "--repo", box.repo, "--json"]).json() as? [Any])?.isEmpty == true)
    }
}
