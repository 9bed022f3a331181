import Foundation
import LifeboatCore
import Testing

/// Damage the stored data the ways disks, networks and people do, and require `verify` to exit 3
/// naming the snapshot, the component and (deep) the entry, and `restore` to write nothing.
@Suite struct CorruptionTests {
    struct Fixture {
        let box: Sandbox
        let name: String
        let stored: String
        let manifest: String
    }

    func makeFixture(_ label: String) throws -> Fixture {
        let box = try Sandbox(label)
        try box.file("a.conf", Array("key=value\n".utf8))
        try box.file("big/random.bin", Sandbox.randomBytes(1_500_000))
        try box.file("big/text.txt", Array(String(repeating: "lorem ipsum dolor sit amet\n", count: 30_000).utf8))
        try CLI.run(["init", "--repo", box.repo, "--format", "1"])
        let summary = try #require(try CLI.run(["backup", "--policy", box.policy, "--json"]).json() as? [String: Any])
        let name = try #require(summary["name"] as? String)
        let id = try #require(summary["id"] as? String)
        let file = try #require((summary["components"] as? [[String: Any]])?.first?["file"] as? String)
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0)
        return Fixture(box: box, name: name, stored: box.repo + "/" + file, manifest: box.repo + "/snapshots/\(id).json")
    }

    func flip(_ path: String, at fraction: Double) throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        let offset = min(data.count - 1, Int(Double(data.count) * fraction))
        data[offset] ^= 0x01
        try data.write(to: URL(fileURLWithPath: path))
    }

    @Test(arguments: [0.0, 0.001, 0.25, 0.5, 0.75, 0.999, 1.0])
    func aFlippedByteAnywhereIsCaught(at fraction: Double) throws {
        let f = try makeFixture("flip")
        try flip(f.stored, at: fraction)
        let plain = try CLI.run(["verify", "--repo", f.box.repo, "--json"])
        #expect(plain.status == 3)
        let problems = try #require((try plain.json() as? [String: Any])?["problems"] as? [[String: Any]])
        #expect(problems.first?["snapshot"] as? String == f.name)
        #expect(problems.first?["component"] as? String == "cfg")

        let deep = try CLI.run(["verify", "--repo", f.box.repo, "--deep"])
        #expect(deep.status == 3)
        #expect(deep.stderr.contains(f.name) && deep.stderr.contains("component cfg"), "\(deep.stderr)")

        let target = f.box.root + "/restored"
        let restore = try CLI.run(["restore", "latest", "--repo", f.box.repo, "--to", target])
        #expect(restore.status == 3)
        #expect(!FileManager.default.fileExists(atPath: target))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: f.box.root).filter { $0.contains("lifeboat-restore") }
        #expect(leftovers.isEmpty)
    }

    @Test func deepVerifyNamesTheDamagedEntry() throws {
        let f = try makeFixture("entry")
        // Rewrite the stored file uncompressed-equivalent damage: re-store with `none` so that the
        // offset of one entry's content is known, then flip a byte inside it.
        try CLI.run(["backup", "--policy", f.box.policy, "--compression", "none"])
        let latest = try #require((try CLI.run(["snapshots", "--repo", f.box.repo, "--json"]).json() as? [[String: Any]])?.last)
        let file = f.box.repo + "/" + (((latest["components"] as? [[String: Any]])?.first?["file"] as? String) ?? "")
        var data = try Data(contentsOf: URL(fileURLWithPath: file))
        let marker = Data("lorem ipsum".utf8)
        let at = try #require(data.range(of: marker)).lowerBound + 3
        data[at] ^= 0x20
        try data.write(to: URL(fileURLWithPath: file))
        let deep = try CLI.run(["verify", "latest", "--repo", f.box.repo, "--deep"])
        #expect(deep.status == 3)
        #expect(deep.stderr.contains("entry \"big/text.txt\""), "\(deep.stderr)")
    }

    @Test func truncatedMissingAndEditedAreCaught() throws {
        let truncated = try makeFixture("trunc")
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: truncated.stored))
        try handle.truncate(atOffset: try handle.seekToEnd() / 2)
        try handle.close()
        #expect(try CLI.run(["verify", "--repo", truncated.box.repo]).status == 3)
        let deep = try CLI.run(["verify", "--repo", truncated.box.repo, "--deep"])
        #expect(deep.status == 3)
        #expect(deep.stderr.contains("component cfg"))

        let missing = try makeFixture("missing")
        try FileManager.default.removeItem(atPath: missing.stored)
        let result = try CLI.run(["verify", "--repo", missing.box.repo])
        #expect(result.status == 3)
        #expect(result.stderr.contains("missing") && result.stderr.contains(missing.name))

        let edited = try makeFixture("edited")
        let text = try String(contentsOfFile: edited.manifest, encoding: .utf8)
        try text.replacingOccurrences(of: "\"a.conf\"", with: "\"b.conf\"").write(toFile: edited.manifest, atomically: true, encoding: .utf8)
        let verify = try CLI.run(["verify", "--repo", edited.box.repo])
        #expect(verify.status == 3)
        #expect(verify.stderr.contains("was modified"))
        // A manifest that does not prove itself is never restored from: naming it is exit 3 (#13 item 2).
        let named = try CLI.run(["restore", edited.name, "--repo", edited.box.repo, "--to", edited.box.root + "/r"])
        #expect(named.status == 3 && named.stderr.contains("damaged"), "\(named.output)")
        #expect(!FileManager.default.fileExists(atPath: edited.box.root + "/r"))
    }

    @Test func leftoversOfInterruptedRunsAreGarbageNotCorruption() throws {
        let f = try makeFixture("garbage")
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: f.box.repo + "/tmp/0123456789abcdef-cfg.partial"))
        try FileManager.default.createDirectory(atPath: f.box.repo + "/data/fedcba9876543210", withIntermediateDirectories: true)
        let result = try CLI.run(["verify", "--repo", f.box.repo, "--json"])
        #expect(result.status == 0)
        let report = try #require(try result.json() as? [String: Any])
        #expect(report["ok"] as? Bool == true)
        #expect(report["garbage"] as? [String] == ["data/fedcba9876543210/", "tmp/0123456789abcdef-cfg.partial"])
    }
}
