import Foundation
import LifeboatCore
import Testing

/// #16: append-only repositories on a real Ceph RGW. The admin (the sandbox's first user, the
/// bucket's owner) creates the repository with `init --append-only --host-principal`; the backup
/// host is the sandbox's second user, which owns nothing and writes through the bucket policy
/// `init` set. Everything a host does is a CLI call with that user's keys.
@Suite(.serialized) struct AppendOnlyTests {
    let rgw = RGWServer.shared

    /// The environment of the backup host: the same gateway, the host user's keys.
    var hostEnvironment: [String: String] {
        var env = rgw.environment
        env["AWS_ACCESS_KEY_ID"] = env["LIFEBOAT_RGW_HOST_ACCESS_KEY_ID"]
        env["AWS_SECRET_ACCESS_KEY"] = env["LIFEBOAT_RGW_HOST_SECRET_ACCESS_KEY"]
        return env
    }

    /// The storage as the backup host sees it (for the delete attempts a compromised host makes).
    func hostStorage(_ location: String) throws -> any RepositoryStorage {
        var settings = rgw.settings()
        settings.environment = hostEnvironment
        return try StorageSettings.storage(for: location, settings: settings)
    }

    /// An AWS shared-credentials file with the admin's keys, as `--admin-credentials` takes it.
    func adminCredentialsFile(in box: Sandbox) throws -> String {
        let path = box.root + "/admin-credentials"
        let env = rgw.environment
        try "[default]\naws_access_key_id = \(env["AWS_ACCESS_KEY_ID"]!)\naws_secret_access_key = \(env["AWS_SECRET_ACCESS_KEY"]!)\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A files source with a policy for `location` (keep-last 1), created append-only by the admin.
    func appendOnlySandbox(_ label: String, hostPrincipal: Bool = true) throws -> (Sandbox, String) {
        let box = try Sandbox(label)
        try box.populateConfigTree()
        let location = rgw.newRepository(label)
        try box.writePolicy(
            schedules: ["daily: {cron: \"0 2 * * *\", retention: {keep-last: 1}}"], repository: location, s3: "{part_size_mib: 5}")
        var argv = ["init", "--repo", location, "--append-only"]
        if hostPrincipal { argv += ["--host-principal", rgw.environment["LIFEBOAT_RGW_HOST_PRINCIPAL"]!] }
        let created = try CLI.run(argv, environment: rgw.environment)
        #expect(created.status == 0, "\(created.output)")
        return (box, location)
    }

    func snapshotNames(_ location: String, _ env: [String: String]) throws -> [String] {
        let list = try CLI.run(["snapshots", "--repo", location, "--json"], environment: env)
        return ((try list.json() as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String }
    }

    @Test func theHostBacksUpRunsPushesWALAndVerifiesButCannotDeleteAndTheAdminPrunes() throws {
        let (box, location) = try appendOnlySandbox("append-only")
        let host = hostEnvironment
        // Content only the first snapshot has: what the admin's prune must free.
        try box.file("first-only.bin", Sandbox.randomBytes(3 << 20))
        let first = try CLI.run(["backup", "--policy", box.policy, "--schedule", "daily"], environment: host)
        #expect(first.status == 0, "\(first.output)")
        try FileManager.default.removeItem(atPath: box.source + "/first-only.bin")
        try box.file("later.txt", Array("later\n".utf8))
        // `run` backs up and leaves retention to the admin: a success, and it says so.
        let run = try CLI.run(["run", "--policy", box.policy, "--json"], environment: host)
        #expect(run.status == 0, "\(run.output)")
        let report = try #require(try run.json() as? [String: Any])
        #expect((report["retention_skipped"] as? String)?.contains("append-only") == true, "\(run.output)")
        #expect((report["forgotten"] as? [String])?.isEmpty == true)
        // A 16 MiB WAL segment: a multipart upload by the host, read back by the admin.
        let segment = box.root + "/000000010000000000000003"
        let wal = Sandbox.randomBytes(16 << 20)
        try Data(wal).write(to: URL(fileURLWithPath: segment))
        let push = try CLI.run(["wal", "push", "--repo", location, segment], environment: host)
        #expect(push.status == 0, "\(push.output)")
        let deep = try CLI.run(["verify", "--repo", location, "--deep"], environment: host)
        #expect(deep.status == 0 && !deep.stderr.contains("may delete"), "\(deep.output)")
        #expect(try snapshotNames(location, host).count == 2)

        // The host's prune and forget are refused (exit 2) with the way out; a dry run is not.
        let prune = try CLI.run(["prune", "--repo", location], environment: host)
        #expect(prune.status == 2, "\(prune.output)")
        #expect(prune.stderr.contains("append-only") && prune.stderr.contains("--admin-credentials"), "\(prune.output)")
        let forget = try CLI.run(["forget", "--policy", box.policy, "--prune"], environment: host)
        #expect(forget.status == 2, "\(forget.output)")
        #expect(try CLI.run(["forget", "--policy", box.policy, "--dry-run"], environment: host).status == 0)

        // A compromised host tries to delete with the same keys: every call is refused.
        let storage = try hostStorage(location)
        let before = try storage.list("")
        #expect(!before.isEmpty)
        for object in before.prefix(5) {
            #expect(throws: LifeboatError.self) { try storage.delete(object.key) }
        }
        #expect(throws: LifeboatError.self) { try storage.delete(before.map(\.key)) }
        #expect(throws: LifeboatError.self) { try storage.deletePrefix("snapshots/") }
        #expect(try storage.list("").map(\.key) == before.map(\.key), "nothing was deleted")
        #expect(try storage.list("locks/").isEmpty, "the host removed its own lock records")

        // The admin reads what the host wrote, and its prune frees only what retention dropped.
        let admin = rgw.environment
        let adminStorage = try rgw.storage(location)
        let packBytes = { try adminStorage.list("packs/").reduce(Int64(0)) { $0 + $1.size } }
        let packsBefore = try packBytes()
        let fetched = box.root + "/fetched-wal"
        #expect(try CLI.run(["wal", "fetch", "--repo", location, "000000010000000000000003", fetched], environment: admin).status == 0)
        #expect(FileManager.default.contents(atPath: fetched) == Data(wal))
        let credentials = try adminCredentialsFile(in: box)
        let adminPrune = try CLI.run(
            ["forget", "--policy", box.policy, "--prune", "--admin-credentials", credentials], environment: host)
        #expect(adminPrune.status == 0, "\(adminPrune.output)")
        let kept = try snapshotNames(location, admin)
        #expect(kept.count == 1)
        #expect(try packBytes() < packsBefore - (2 << 20), "the first snapshot's own 3 MiB were freed")
        #expect(try CLI.run(["verify", "--repo", location, "--deep"], environment: admin).status == 0)
        let restore = try box.restoresLatestAsTheSource(location, environment: host)
        #expect(restore.ok, "\(restore.output)")
    }

    /// Credentials that may not delete even their lock records: a released lock is re-put marked
    /// released, holds nothing, and the admin's exclusive prune removes it.
    @Test func locksReleaseWithoutDeleteAndTheAdminsPruneTidiesThem() throws {
        let (box, location) = try appendOnlySandbox("append-only-locks", hostPrincipal: false)
        let s3 = try #require(try rgw.storage(location) as? S3Storage)
        let principal = rgw.environment["LIFEBOAT_RGW_HOST_PRINCIPAL"]!
        // The generated policy, made stricter: DELETE is denied under locks/ too.
        var document = try #require(
            try JSONSerialization.jsonObject(with: Data(AppendOnlyBucketPolicy.document(for: s3, principals: [principal]).utf8))
                as? [String: Any])
        var statements = try #require(document["Statement"] as? [[String: Any]])
        statements.removeAll { $0["Sid"] as? String == "LifeboatHostsReleaseLocks" }
        for i in statements.indices where statements[i]["Effect"] as? String == "Deny" {
            let bucket = try #require(URL(string: location)?.host)
            statements[i].removeValue(forKey: "NotResource")
            statements[i]["Resource"] = ["arn:aws:s3:::\(bucket)", "arn:aws:s3:::\(bucket)/*"]
        }
        document["Statement"] = statements
        try s3.putBucketPolicy(String(decoding: try JSONSerialization.data(withJSONObject: document), as: UTF8.self))

        let host = hostEnvironment
        for _ in 0..<2 {
            let backup = try CLI.run(["backup", "--policy", box.policy, "--schedule", "daily"], environment: host)
            #expect(backup.status == 0, "\(backup.output)")
        }
        let records = try s3.list("locks/")
        #expect(records.count == 2, "each backup left its record, which it may not delete")
        for record in records {
            let body = try #require(try s3.get(record.key))
            #expect((try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])?["released"] as? Bool == true)
        }
        #expect(s3.lockHolders().isEmpty, "released records hold nothing")
        let prune = try CLI.run(["prune", "--repo", location, "--admin-credentials", try adminCredentialsFile(in: box)], environment: host)
        #expect(prune.status == 0, "\(prune.output)")
        #expect(!prune.output.contains("stale"), "a released record is not a stale lock: \(prune.output)")
        #expect(try s3.list("locks/").isEmpty, "the exclusive holder removed the released records")
    }

    @Test func appendOnlyIsRefusedForDirectoriesAndAdminCredentialsToo() throws {
        let box = try Sandbox("append-only-dir")
        let refused = try CLI.run(["init", "--repo", box.repo, "--append-only"])
        #expect(refused.status == 2, "\(refused.output)")
        #expect(refused.stderr.contains("needs an S3 repository"), "\(refused.output)")
        #expect(!FileManager.default.fileExists(atPath: box.repo + "/config.json"))
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        let prune = try CLI.run(["prune", "--repo", box.repo, "--admin-credentials", box.root + "/none"])
        #expect(prune.status == 2 && prune.stderr.contains("--admin-credentials is for S3"), "\(prune.output)")
        let principal = try CLI.run(["init", "--repo", box.root + "/other", "--host-principal", "arn:aws:iam:::user/x"])
        #expect(principal.status == 2, "\(principal.output)")
    }

    /// A ransomware drill plan for the sandbox's files source.
    func ransomwarePlan(_ box: Sandbox, _ name: String) throws -> String {
        let path = box.root + "/\(name).yaml"
        try """
        drill: \(name)
        policy: \(box.policy)
        kind: ransomware
        sources:
          cfg:
            target: {directory: \(box.root)/scratch-\(name)}
            checks: [{files: entries}]
        objectives:
          cfg: {rto: 10m, rpo: 1h}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func report(_ result: CLI.Result) throws -> (path: String, json: [String: Any]) {
        let path = try #require(result.stdout.split(separator: "\n").last.map(String.init), "\(result.output)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        return (path, json)
    }

    /// #16's attack drill: the host's credentials try to delete everything, S3 refuses every
    /// call, the restore that follows is measured, and every snapshot still verifies and restores.
    @Test func aRansomwareDrillFindsEveryDeleteRefusedThenRestoresAndMeasuresRTO() throws {
        let (box, location) = try appendOnlySandbox("ransomware")
        let host = hostEnvironment
        for _ in 0..<2 {
            try box.file("changing.txt", Sandbox.randomBytes(4096))
            #expect(try CLI.run(["backup", "--policy", box.policy, "--schedule", "daily"], environment: host).status == 0)
        }
        let storage = try hostStorage(location)
        let before = try storage.list("").map(\.key)
        let drill = try CLI.run(["drill", "--plan", try ransomwarePlan(box, "attack"), "--report-dir", box.root + "/reports"], environment: host)
        #expect(drill.status == 0, "\(drill.output)")
        let (path, json) = try report(drill)
        let attack = try #require(json["attack"] as? [String: Any])
        #expect(attack["protected"] as? Bool == true, "\(attack)")
        let objects = try #require(attack["objects_before"] as? Int)
        #expect(objects == before.count && attack["objects_after"] as? Int == objects)
        // 8 probes of missing keys, one DELETE per object, one multi-object DELETE, the bucket.
        #expect(attack["attempts"] as? Int == objects + RansomwareAttackProbes.count + 2 && attack["refused"] as? Int == attack["attempts"] as? Int)
        #expect(json["kind"] as? String == "ransomware" && json["objectives_met"] as? Bool == true, "\(json)")
        #expect(((json["rto_seconds"] as? Double) ?? -1) > 0)
        #expect(try ReportSchema.violations(of: path) == [], "docs/drill-report.schema.json")
        let markdown = try String(contentsOfFile: String(path.dropLast(5)) + ".md", encoding: .utf8)
        #expect(markdown.contains("nothing was deleted") && markdown.contains("count from the end of the attack"), "\(markdown)")
        // The repository is untouched: every snapshot deep-verifies and restores.
        #expect(try storage.list("").map(\.key).filter { !$0.hasPrefix("drills/") } == before)
        let deep = try CLI.run(["verify", "--repo", location, "--deep"], environment: host)
        #expect(deep.status == 0, "\(deep.output)")
        for name in try snapshotNames(location, host) {
            let restore = try CLI.run(["restore", "--repo", location, name, "--to", box.root + "/restored-\(name)"], environment: host)
            #expect(restore.status == 0, "\(restore.output)")
        }
    }

    /// The drill never destroys what is not protected: a plain repository is refused before any
    /// request; with credentials that may delete, the probes of missing keys stop it untouched.
    @Test func aRansomwareDrillNeverAttacksAnUnprotectedRepository() throws {
        let admin = rgw.environment
        let plain = try Sandbox("ransomware-plain")
        try plain.populateConfigTree()
        let location = rgw.newRepository("ransomware-plain")
        try plain.writePolicy(schedules: ["daily: {cron: \"0 2 * * *\"}"], repository: location)
        #expect(try CLI.run(["init", "--repo", location], environment: admin).status == 0)
        #expect(try CLI.run(["backup", "--policy", plain.policy, "--schedule", "daily"], environment: admin).status == 0)
        let storage = try rgw.storage(location)
        let before = try storage.list("").map(\.key)
        let refused = try CLI.run(
            ["drill", "--plan", try ransomwarePlan(plain, "plain"), "--report-dir", plain.root + "/reports"], environment: admin)
        #expect(refused.status == 2 && refused.stderr.contains("not append-only"), "\(refused.output)")
        #expect(try storage.list("").map(\.key) == before)

        // Append-only in its config, but run with keys that may delete (no bucket policy applies).
        let (box, unprotected) = try appendOnlySandbox("ransomware-open", hostPrincipal: false)
        #expect(try CLI.run(["backup", "--policy", box.policy, "--schedule", "daily"], environment: admin).status == 0)
        let open = try rgw.storage(unprotected)
        let objects = try open.list("").map(\.key)
        let drill = try CLI.run(["drill", "--plan", try ransomwarePlan(box, "open"), "--report-dir", box.root + "/reports"], environment: admin)
        #expect(drill.status == 1, "a failed check: \(drill.output)")
        let attack = try #require(try report(drill).json["attack"] as? [String: Any])
        #expect(attack["protected"] as? Bool == false && (attack["stopped_because"] as? String)?.contains("permitted") == true, "\(attack)")
        #expect(attack["attempts"] as? Int == 1, "the first probe stopped it")
        // The nightly verify says so too.
        let verify = try CLI.run(["verify", "--repo", unprotected], environment: admin)
        #expect(verify.status == 0 && verify.stderr.contains("these credentials may delete"), "\(verify.output)")
        #expect(try open.list("").map(\.key).filter { !$0.hasPrefix("drills/") } == objects, "no backup was touched")
    }
}

/// How many missing keys the attack probes first (one per repository prefix).
enum RansomwareAttackProbes {
    static let count = 8
}
