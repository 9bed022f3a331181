import Foundation
import LifeboatCore
import Testing

/// Encrypted repositories through the CLI: a symmetric key file, and write-only backups to an
/// X25519 public key, on a directory and on S3 (RGW). Wrong or missing keys are exit 2 and never
/// produce output; tampering is exit 3.
@Suite(.serialized) struct EncryptionTests {
    static let marker = "CONFIDENTIAL-ROW-7f3a"

    func sandbox(_ label: String) throws -> Sandbox {
        let box = try Sandbox(label)
        try box.populateConfigTree()
        try box.file("payroll-2026.csv", Array(String(repeating: "\(Self.marker),1000\n", count: 50_000).utf8))
        return box
    }

    /// Every stored byte of the repository, concatenated (disk).
    func storedBytes(_ repo: String) throws -> Data {
        var all = Data()
        let walker = FileManager.default.enumerator(atPath: repo)
        while let relative = walker?.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: repo + "/" + relative, isDirectory: &isDir), !isDir.boolValue {
                all += FileManager.default.contents(atPath: repo + "/" + relative) ?? Data()
            }
        }
        return all
    }

    @Test func symmetricKeyFile() throws {
        let box = try sandbox("enc-sym")
        let key = box.root + "/repo.key"
        _ = FileManager.default.createFile(atPath: key, contents: Data(Sandbox.randomBytes(32)), attributes: [.posixPermissions: 0o644])
        let loose = try CLI.run(["init", "--repo", box.repo, "--encrypt", "--key-file", key])
        #expect(loose.status == 2 && loose.stderr.contains("chmod 600"), "\(loose.output)")
        chmod(key, 0o600)
        #expect(try CLI.run(["init", "--repo", box.repo, "--encrypt", "--key-file", key]).status == 0)
        let keyless = try CLI.run(["backup", "--policy", box.policy])
        #expect(keyless.status == 2 && keyless.stderr.contains("--key-file"), "\(keyless.output)")
        #expect((try CLI.run(["snapshots", "--repo", box.repo, "--json"]).json() as? [Any])?.isEmpty == true, "a refused backup leaves no snapshot")
        let backup = try CLI.run(["backup", "--policy", box.policy], environment: ["LIFEBOAT_KEY_FILE": key])
        #expect(backup.status == 0, "\(backup.output)")
        let stored = try storedBytes(box.repo)
        #expect(stored.range(of: Data(Self.marker.utf8)) == nil, "no plaintext content in the repository")
        #expect(stored.range(of: Data("payroll-2026.csv".utf8)) == nil, "no file names either")
        // The wrong key is named as such, before any output.
        let other = box.root + "/other.key"
        _ = FileManager.default.createFile(atPath: other, contents: Data(Sandbox.randomBytes(32)), attributes: [.posixPermissions: 0o600])
        let wrong = try CLI.run(["restore", "--repo", box.repo, "latest", "--to", box.root + "/wrong", "--key-file", other])
        #expect(wrong.status == 2 && wrong.stderr.contains("not this repository's key"), "\(wrong.output)")
        #expect(!FileManager.default.fileExists(atPath: box.root + "/wrong"))
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep", "--key-file", key]).status == 0)
        let restore = try CLI.run(["restore", "--repo", box.repo, "latest", "--to", box.root + "/out", "--key-file", key])
        #expect(restore.status == 0, "\(restore.output)")
        #expect(try Sandbox.describeTree(box.root + "/out") == Sandbox.describeTree(box.source))
    }

    @Test func writeOnlyPublicKeyBackups() throws {
        let box = try sandbox("enc-pub")
        let keys = box.root + "/keys"
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        #expect(try CLI.run(["keygen", "--out", keys + "/team"]).status == 0)
        #expect(try CLI.run(["keygen", "--out", keys + "/intruder"]).status == 0)
        #expect(try CLI.run(["keygen", "--out", keys + "/team"]).status == 2, "never overwrites a key")
        #expect(try CLI.run(["init", "--repo", box.repo, "--encrypt", "--public-key", keys + "/team.pub"]).status == 0)
        // The backup host holds only the public key: backup, list, retention, plain verify.
        let backup = try CLI.run(["backup", "--policy", box.policy])
        #expect(backup.status == 0, "\(backup.output)")
        let list = try CLI.run(["snapshots", "--repo", box.repo, "--json"])
        #expect((try list.json() as? [Any])?.count == 1)
        #expect(try CLI.run(["verify", "--repo", box.repo]).status == 0, "stored-byte hashes need no key")
        let stored = try storedBytes(box.repo)
        #expect(stored.range(of: Data(Self.marker.utf8)) == nil)
        #expect(stored.range(of: Data("payroll-2026.csv".utf8)) == nil)
        // Reading needs the private key, and only the right one.
        for args in [["verify", "--repo", box.repo, "--deep"], ["restore", "--repo", box.repo, "latest", "--to", box.root + "/nokey"]] {
            let refused = try CLI.run(args)
            #expect(refused.status == 2 && refused.stderr.contains("--private-key"), "\(refused.output)")
        }
        let wrong = try CLI.run(["restore", "--repo", box.repo, "latest", "--to", box.root + "/wrong", "--private-key", keys + "/intruder.key"])
        #expect(wrong.status == 2, "\(wrong.output)")
        #expect(!FileManager.default.fileExists(atPath: box.root + "/wrong") && !FileManager.default.fileExists(atPath: box.root + "/nokey"))
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep", "--private-key", keys + "/team.key"]).status == 0)
        let restore = try CLI.run(["restore", "--repo", box.repo, "latest", "--to", box.root + "/out", "--private-key", keys + "/team.key"])
        #expect(restore.status == 0, "\(restore.output)")
        #expect(try Sandbox.describeTree(box.root + "/out") == Sandbox.describeTree(box.source))

        // An edited envelope (re-checksummed, so plain verify is fooled) fails with the key: exit 3.
        let manifestPath = try #require(try FileManager.default.contentsOfDirectory(atPath: box.repo + "/snapshots").first { $0.hasSuffix(".json") })
        let full = box.repo + "/snapshots/" + manifestPath
        var envelope = try Manifest.load(try Data(contentsOf: URL(fileURLWithPath: full)), path: full)
        envelope.recoveryPoint = "2030-01-01T00:00:00.000Z"
        envelope.checksum = nil
        try Data(try envelope.sealedBytes()).write(to: URL(fileURLWithPath: full))
        #expect(try CLI.run(["verify", "--repo", box.repo]).status == 0)
        let edited = try CLI.run(["verify", "--repo", box.repo, "--deep", "--private-key", keys + "/team.key"])
        #expect(edited.status == 3 && edited.output.contains("envelope"), "\(edited.output)")
    }

    @Test func aFlippedByteInAnEncryptedObjectIsExit3() throws {
        let box = try sandbox("enc-flip")
        let keys = box.root + "/k"
        #expect(try CLI.run(["keygen", "--out", keys]).status == 0)
        #expect(try CLI.run(["init", "--repo", box.repo, "--format", "1", "--encrypt", "--public-key", keys + ".pub"]).status == 0)
        #expect(try CLI.run(["backup", "--policy", box.policy]).status == 0)
        let storage = DiskStorage(root: box.repo)
        let object = try #require(try storage.list("data/").first)
        var bytes = try #require(try storage.get(object.key))
        bytes[bytes.count - 40] ^= 0x01
        try storage.put(object.key, bytes)
        #expect(try CLI.run(["verify", "--repo", box.repo]).status == 3, "the stored-byte hash catches it without a key")
        let restore = try CLI.run(["restore", "--repo", box.repo, "latest", "--to", box.root + "/out", "--private-key", keys + ".key"])
        #expect(restore.status == 3, "\(restore.output)")
    }

    @Test func writeOnlyBackupsOnS3() throws {
        let rgw = RGWServer.shared
        let box = try sandbox("enc-s3")
        let keys = box.root + "/k"
        #expect(try CLI.run(["keygen", "--out", keys]).status == 0)
        let location = rgw.newRepository("enc")
        try """
        repository: \(location)
        sources:
          cfg: {type: files, path: \(box.source)}
        schedules:
          daily: {cron: "0 2 * * *"}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        let env = rgw.environment
        #expect(try CLI.run(["init", "--repo", location, "--encrypt", "--public-key", keys + ".pub"], environment: env).status == 0)
        #expect(try CLI.run(["backup", "--policy", box.policy], environment: env).status == 0)
        #expect(try CLI.run(["verify", "--repo", location], environment: env).status == 0)
        let storage = try rgw.storage(location)
        for object in try storage.list("") {
            #expect(Data(try storage.get(object.key) ?? []).range(of: Data(Self.marker.utf8)) == nil, "\(object.key)")
        }
        let restore = try CLI.run(
            ["restore", "--repo", location, "latest", "--to", box.root + "/out", "--private-key", keys + ".key"], environment: env)
        #expect(restore.status == 0, "\(restore.output)")
        #expect(try Sandbox.describeTree(box.root + "/out") == Sandbox.describeTree(box.source))
    }
}
