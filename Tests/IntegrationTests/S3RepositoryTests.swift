import Foundation
import LifeboatCore
import Testing

/// The CLI on an S3 repository (a real Ceph RGW), configured the way operators do it: the
/// standard AWS environment and `repository: s3://BUCKET/PREFIX`.
@Suite(.serialized) struct S3RepositoryTests {
    /// A sandbox whose policy points at a new S3 repository on `rgw`, with `megabytes` of
    /// incompressible data besides the config tree.
    func s3Sandbox(_ label: String, rgw: RGWServer = .shared, megabytes: Int = 0, format: Int = 1) throws -> (Sandbox, String) {
        let box = try Sandbox(label)
        try box.populateConfigTree()
        if megabytes > 0 { try box.file("blob.bin", Sandbox.randomBytes(megabytes << 20)) }
        let location = rgw.newRepository(label)
        try """
        repository: \(location)
        s3: {part_size_mib: 5}
        sources:
          cfg: {type: files, path: \(box.source)}
        schedules:
          daily: {cron: "0 2 * * *", retention: {keep-last: 1}}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        let created = try CLI.run(["init", "--repo", location, "--format", String(format)], environment: rgw.environment)
        #expect(created.status == 0, "\(created.output)")
        return (box, location)
    }

    func snapshotCount(_ location: String, _ rgw: RGWServer = .shared) throws -> Int {
        let list = try CLI.run(["snapshots", "--repo", location, "--json"], environment: rgw.environment)
        return (try list.json() as? [Any])?.count ?? -1
    }

    @Test func backupVerifyRestoreForgetAndPruneOnS3() throws {
        let rgw = RGWServer.shared
        let (box, location) = try s3Sandbox("s3-roundtrip", megabytes: 12)
        let env = rgw.environment
        let first = try CLI.run(["backup", "--policy", box.policy, "--schedule", "daily", "--json"], environment: env)
        #expect(first.status == 0, "\(first.output)")
        #expect(try CLI.run(["verify", "--repo", location], environment: env).status == 0)
        let deep = try CLI.run(["verify", "--repo", location, "--deep", "--json"], environment: env)
        #expect(deep.status == 0, "\(deep.output)")
        let restored = box.root + "/restored"
        let restore = try CLI.run(["restore", "--repo", location, "latest", "--to", restored], environment: env)
        #expect(restore.status == 0, "\(restore.output)")
        #expect(try Sandbox.describeTree(restored) == Sandbox.describeTree(box.source))
        // The secret key is in no output and in no object of the repository.
        let storage = try rgw.storage(location)
        let secret = try #require(env["AWS_SECRET_ACCESS_KEY"])
        #expect(!(first.output + deep.output + restore.output).contains(secret))
        for object in try storage.list("") where !object.key.hasPrefix("data/") {
            #expect(!String(decoding: try storage.get(object.key) ?? [], as: UTF8.self).contains(secret))
        }
        // A second backup, then retention (keep-last 1) and prune free the first one's data.
        try box.file("later.txt", Array("later\n".utf8))
        #expect(try CLI.run(["backup", "--policy", box.policy, "--schedule", "daily"], environment: env).status == 0)
        let forget = try CLI.run(["forget", "--policy", box.policy, "--prune"], environment: env)
        #expect(forget.status == 0, "\(forget.output)")
        #expect(try snapshotCount(location) == 1)
        #expect(try storage.children("data/").count == 1)
        // `run` (cron): the daily schedule is due once, then not again; its state lives in the bucket.
        let run = try CLI.run(["run", "--policy", box.policy, "--json"], environment: env)
        #expect(run.status == 0, "\(run.output)")
        #expect(try storage.get("state/run-\(ProcessInfo.processInfo.hostName).json") != nil)
        #expect(try storage.list("locks/").isEmpty, "every command released its lock")
    }

    /// #14: a format-2 repository on RGW: deduplicated backups, verify, deep verify, restore, and
    /// forget + prune that leave the kept snapshot whole (its packs are still needed: kept).
    @Test func format2DeduplicatesOnS3AndPruneKeepsTheKeptSnapshotWhole() throws {
        let rgw = RGWServer.shared
        let (box, location) = try s3Sandbox("s3-format2", megabytes: 20, format: 2)
        let env = rgw.environment
        let storage = try rgw.storage(location)
        #expect(try CLI.run(["backup", "--policy", box.policy, "--schedule", "daily"], environment: env).status == 0)
        let packBytes = { try storage.list("packs/").reduce(Int64(0)) { $0 + $1.size } }
        let afterFirst = try packBytes()
        #expect(afterFirst > 20 << 20)
        try box.file("later.txt", Array("later\n".utf8))
        #expect(try CLI.run(["backup", "--policy", box.policy, "--schedule", "daily"], environment: env).status == 0)
        let added = try packBytes() - afterFirst
        #expect(added < 8 << 20, "the second backup stored \(added) bytes: what changed only (at most two 4 MiB chunks)")
        #expect(try storage.children("data/").isEmpty)
        #expect(try CLI.run(["verify", "--repo", location], environment: env).status == 0)
        #expect(try CLI.run(["verify", "--repo", location, "--deep"], environment: env).status == 0)
        let forget = try CLI.run(["forget", "--policy", box.policy, "--prune"], environment: env)
        #expect(forget.status == 0, "\(forget.output)")
        #expect(try snapshotCount(location) == 1)
        #expect(try CLI.run(["verify", "--repo", location, "--deep"], environment: env).status == 0)
        let restore = try box.restoresLatestAsTheSource(location, environment: env)
        #expect(restore.ok, "\(restore.output)")
    }

    @Test func walPushFetchAndListOnS3() throws {
        let rgw = RGWServer.shared
        let (box, location) = try s3Sandbox("s3-wal")
        let env = rgw.environment
        let segment = box.root + "/000000010000000000000007"
        let content = Sandbox.randomBytes(16 << 20)
        try Data(content).write(to: URL(fileURLWithPath: segment))
        #expect(try CLI.run(["wal", "push", "--repo", location, segment], environment: env).status == 0)
        let again = try CLI.run(["wal", "push", "--repo", location, segment, "--json"], environment: env)
        #expect(again.status == 0 && again.stdout.contains("already-archived"), "\(again.output)")
        let fetched = box.root + "/fetched"
        #expect(try CLI.run(["wal", "fetch", "--repo", location, "000000010000000000000007", fetched], environment: env).status == 0)
        #expect(FileManager.default.contents(atPath: fetched) == Data(content))
        let missing = try CLI.run(["wal", "fetch", "--repo", location, "000000010000000000000008", fetched + "2"], environment: env)
        #expect(missing.status == 1)
        #expect(!FileManager.default.fileExists(atPath: fetched + "2"))
        let list = try CLI.run(["wal", "list", "--repo", location], environment: env)
        #expect(list.stdout.contains("000000010000000000000007"), "\(list.output)")
    }

    @Test func aKillDuringAMultipartUploadListsNothingAndPruneAbortsTheParts() throws {
        let rgw = RGWServer.shared
        let (box, location) = try s3Sandbox("s3-kill", megabytes: 16)
        let env = rgw.environment
        var crash = env
        crash["LIFEBOAT_CRASH_AT"] = "s3-before-complete"
        let killed = try CLI.run(["backup", "--policy", box.policy], environment: crash)
        #expect(killed.status == 9 || killed.status == 128 + 9, "\(killed.output)")
        #expect(try snapshotCount(location) == 0)
        let storage = try rgw.storage(location)
        #expect(try storage.incompleteWrites().contains { $0.key.hasPrefix("data/") }, "the parts are uploaded, the upload unfinished")
        let dry = try CLI.run(["prune", "--repo", location, "--dry-run", "--json"], environment: env)
        #expect(dry.stdout.contains("upload:data/"), "\(dry.output)")
        let prune = try CLI.run(["prune", "--repo", location], environment: env)
        #expect(prune.status == 0, "\(prune.output)")
        #expect(try storage.incompleteWrites().isEmpty)
        #expect(try CLI.run(["verify", "--repo", location], environment: env).status == 0)
        #expect(try CLI.run(["backup", "--policy", box.policy], environment: env).status == 0, "a killed writer's lock does not block")
        #expect(try snapshotCount(location) == 1)
    }

    @Test func aCorruptedObjectIsExit3() throws {
        let rgw = RGWServer.shared
        let (box, location) = try s3Sandbox("s3-corrupt", megabytes: 6)
        let env = rgw.environment
        #expect(try CLI.run(["backup", "--policy", box.policy], environment: env).status == 0)
        let storage = try rgw.storage(location)
        let object = try #require(try storage.list("data/").first)
        var bytes = try #require(try storage.get(object.key))
        bytes[bytes.count / 2] ^= 0x40
        try storage.put(object.key, bytes)
        let verify = try CLI.run(["verify", "--repo", location], environment: env)
        #expect(verify.status == 3, "\(verify.output)")
        let restore = try CLI.run(["restore", "--repo", location, "latest", "--to", box.root + "/out"], environment: env)
        #expect(restore.status == 3, "\(restore.output)")
    }

    @Test func theGatewayStoppingMidBackupIsAClearErrorAndListsNothing() throws {
        let rgw = try RGWServer()
        defer { rgw.stop() }
        let (box, location) = try s3Sandbox("s3-down", rgw: rgw, megabytes: 16)
        var env = rgw.environment
        env["LIFEBOAT_PAUSE_AT"] = "s3-part-upload:2"
        let (process, out, err) = try CLI.start(["backup", "--policy", box.policy], environment: env)
        Thread.sleep(forTimeInterval: 1)
        try rgw.stopGateway()
        process.waitUntilExit()
        let output = CLI.read(out) + CLI.read(err)
        #expect(process.terminationStatus == 1, "\(output)")
        #expect(output.contains(rgw.endpoint) || output.contains("127.0.0.1:\(rgw.port)"), "the error names the endpoint: \(output)")
        try rgw.startGateway()
        #expect(try snapshotCount(location, rgw) == 0)
        let next = try CLI.run(["backup", "--policy", box.policy], environment: rgw.environment)
        #expect(next.status == 0, "\(next.output)")
        #expect(try snapshotCount(location, rgw) == 1)
    }
}
