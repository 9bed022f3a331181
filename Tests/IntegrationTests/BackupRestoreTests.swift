import Foundation
import LifeboatCore
import Testing

@Suite struct BackupRestoreTests {
    @Test(arguments: ["zstd", "gzip:9", "none"])
    func backupVerifyRestoreIsByteIdentical(compression: String) throws {
        let box = try Sandbox("roundtrip")
        try box.populateConfigTree()
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        let backup = try CLI.run(["backup", "--policy", box.policy, "--schedule", "daily", "--compression", compression, "--json"])
        #expect(backup.status == 0, "\(backup.output)")
        let summary = try #require(try backup.json() as? [String: Any])
        let name = try #require(summary["name"] as? String)
        #expect(name.hasPrefix("daily-"))

        let verify = try CLI.run(["verify", "--repo", box.repo, "--deep"])
        #expect(verify.status == 0, "\(verify.output)")

        let target = box.root + "/restored"
        let restore = try CLI.run(["restore", name, "--repo", box.repo, "--source", "cfg", "--to", target])
        #expect(restore.status == 0, "\(restore.output)")
        let original = try Sandbox.describeTree(box.source)
        let restored = try Sandbox.describeTree(target)
        #expect(original.count >= 15)
        for (path, description) in original {
            #expect(restored[path] == description, "\(path)")
        }
        #expect(Set(restored.keys) == Set(original.keys))
    }

    @Test func snapshotsJSONHasTheDocumentedFields() throws {
        let box = try Sandbox("list")
        try box.file("a.txt", Array("hello\n".utf8))
        try CLI.run(["init", "--repo", box.repo, "--format", "1"])
        #expect(try CLI.run(["backup", "--policy", box.policy, "--schedule", "daily"]).status == 0)
        #expect(try CLI.run(["backup", "--policy", box.policy]).status == 0)
        let list = try CLI.run(["snapshots", "--repo", box.repo, "--json"])
        let array = try #require(try list.json() as? [[String: Any]])
        #expect(array.count == 2)
        #expect(array.map { $0["schedule"] as? String } == ["daily", "manual"])
        for element in array {
            #expect((element["id"] as? String)?.count == 16)
            #expect(element["name"] is String)
            #expect(Timestamp.parse(element["time"] as? String ?? "") != nil)
            let component = try #require((element["components"] as? [[String: Any]])?.first)
            #expect(component["source"] as? String == "cfg")
            #expect(component["type"] as? String == "files")
            #expect((component["bytes"] as? Int ?? 0) > 0)
            let sha = try #require(component["sha256"] as? String)
            // The listed digest is the stored file's, as an independent tool sees it.
            let file = box.repo + "/" + (component["file"] as? String ?? "")
            let data = try Data(contentsOf: URL(fileURLWithPath: file))
            #expect(SHA256Hasher.hex(of: data) == sha)
        }
    }

    @Test func restoreRefusesANonEmptyTargetAndForceMovesItAside() throws {
        let box = try Sandbox("target")
        try box.file("new.conf", Array("v2\n".utf8))
        try CLI.run(["init", "--repo", box.repo])
        let name = try CLI.run(["backup", "--policy", box.policy]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let target = box.root + "/live"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try "hand-edited\n".write(toFile: target + "/keep.me", atomically: true, encoding: .utf8)

        let refused = try CLI.run(["restore", name, "--repo", box.repo, "--source", "cfg", "--to", target])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("not empty"))
        #expect(try String(contentsOfFile: target + "/keep.me", encoding: .utf8) == "hand-edited\n")
        #expect(!FileManager.default.fileExists(atPath: target + "/new.conf"))

        let forced = try CLI.run(["restore", name, "--repo", box.repo, "--to", target, "--force", "--json"])
        #expect(forced.status == 0, "\(forced.output)")
        let outcome = try #require((try forced.json() as? [String: Any])?["outcome"] as? [String: Any])
        let moved = try #require(outcome["previous_moved_to"] as? String)
        #expect(try String(contentsOfFile: moved + "/keep.me", encoding: .utf8) == "hand-edited\n")
        #expect(try String(contentsOfFile: target + "/new.conf", encoding: .utf8) == "v2\n")
        #expect(!FileManager.default.fileExists(atPath: target + "/keep.me"))
    }

    @Test func snapshotsAreNamedByNameIdPrefixOrLatestAndDryRunWritesNothing() throws {
        let box = try Sandbox("select")
        try box.file("a", Array("1".utf8))
        try CLI.run(["init", "--repo", box.repo])
        let first = try #require(try CLI.run(["backup", "--policy", box.policy, "--json"]).json() as? [String: Any])
        try box.file("a", Array("2".utf8))
        #expect(try CLI.run(["backup", "--policy", box.policy]).status == 0)
        let id = try #require(first["id"] as? String)

        let byId = box.root + "/by-id"
        #expect(try CLI.run(["restore", String(id.prefix(6)), "--repo", box.repo, "--to", byId]).status == 0)
        #expect(try String(contentsOfFile: byId + "/a", encoding: .utf8) == "1")
        let latest = box.root + "/latest"
        #expect(try CLI.run(["restore", "latest", "--repo", box.repo, "--to", latest]).status == 0)
        #expect(try String(contentsOfFile: latest + "/a", encoding: .utf8) == "2")

        let dry = try CLI.run(["restore", "latest", "--repo", box.repo, "--to", box.root + "/dry", "--dry-run", "--json"])
        #expect(dry.status == 0)
        #expect((try dry.json() as? [String: Any])?["entries"] as? Int == 2)
        #expect(!FileManager.default.fileExists(atPath: box.root + "/dry"))

        let unknown = try CLI.run(["restore", "daily-20990101T000000Z", "--repo", box.repo, "--to", box.root + "/x"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("lifeboat snapshots"))
    }
}
