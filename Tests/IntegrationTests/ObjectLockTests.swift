import Foundation
import LifeboatCore
import Testing

/// #16: S3 Object Lock on a real Ceph RGW bucket created with it. A snapshot's objects are
/// locked until its schedule's retention would forget it plus the margin, and a pack a newer
/// snapshot reuses is extended to cover that one too.
@Suite(.serialized) struct ObjectLockTests {
    let rgw = RGWServer.shared

    /// Day `n` after tomorrow, at `hour`:00 UTC: future times the snapshots are stamped with
    /// (LIFEBOAT_FAKE_NOW), so that the expected dates are known exactly.
    func day(_ n: Int, hour: Int) -> Date {
        let today = floor(Date().timeIntervalSince1970 / 86_400) * 86_400
        return Date(timeIntervalSince1970: today + Double(n + 1) * 86_400 + Double(hour) * 3600)
    }

    func locks(_ s3: S3Storage, _ prefix: String) throws -> [String: (mode: String?, until: Date?)] {
        var found: [String: (mode: String?, until: Date?)] = [:]
        for object in try s3.list(prefix) {
            let lock = try #require(try s3.objectLock(object.key))
            found[object.key] = (lock.mode, lock.until)
        }
        return found
    }

    @Test func locksFollowRetentionAndAReusedPackIsExtendedToItsNewestSnapshot() throws {
        let box = try Sandbox("object-lock")
        try box.file("big.bin", Sandbox.randomBytes(3 << 20))
        try box.file("small.txt", Array("one\n".utf8))
        let location = rgw.newRepository("object-lock")
        try box.writePolicy(schedules: ["daily: {cron: \"0 2 * * *\", retention: {keep-daily: 2}}"], repository: location)
        let created = try CLI.run(
            ["init", "--repo", location, "--object-lock", "governance", "--lock-margin-days", "1", "--lock-max-days", "30", "--json"],
            environment: rgw.environment)
        #expect(created.status == 0, "\(created.output)")
        #expect((try created.json() as? [String: String])?["object_lock"] == "governance")
        let s3 = try #require(try rgw.storage(location) as? S3Storage)
        #expect(try s3.bucketHasObjectLock())

        // S1 at 03:00 on day 0, the last daily firing of its day: keep-daily 2 forgets it at the
        // firing that brings the second newer day, 02:00 on day 2; plus the 1-day margin.
        var env = rgw.environment
        env["LIFEBOAT_FAKE_NOW"] = Timestamp.rfc3339(day(0, hour: 3))
        #expect(try CLI.run(["backup", "--policy", box.policy, "--schedule", "daily"], environment: env).status == 0)
        let first = day(3, hour: 2)
        let packsAfterFirst = try locks(s3, "packs/")
        #expect(!packsAfterFirst.isEmpty)
        for (key, lock) in try locks(s3, "") where !key.hasPrefix("locks/") && key != "config.json" {
            #expect(lock.mode == "GOVERNANCE" && lock.until == first, "\(key): \(lock)")
        }
        let manifest = try #require(
            try CLI.run(["show", "--repo", location, "latest", "--json"], environment: rgw.environment).json() as? [String: Any])
        let component = try #require((manifest["components"] as? [[String: Any]])?.first)
        #expect((component["metadata"] as? [String: Any])?["locked_until"] as? String == Timestamp.rfc3339(first))

        // S2 a day later reuses big.bin's pack: that pack's lock moves to S2's date.
        try box.file("small.txt", Array("two\n".utf8))
        env["LIFEBOAT_FAKE_NOW"] = Timestamp.rfc3339(day(1, hour: 3))
        #expect(try CLI.run(["backup", "--policy", box.policy, "--schedule", "daily"], environment: env).status == 0)
        let second = day(4, hour: 2)
        let packs = try locks(s3, "packs/")
        let extended = packs.filter { packsAfterFirst[$0.key] != nil && $0.value.until == second }
        #expect(!extended.isEmpty, "the reused pack now covers S2: \(packs)")
        for (key, lock) in packs where packsAfterFirst[key] == nil { #expect(lock.until == second, "S2's own pack \(key)") }
        // So is every index file (S1's, the one naming that pack): a pack is found through it.
        for (key, lock) in try locks(s3, "index/") { #expect(lock.until == second, "\(key): \(lock)") }
        // A lock cannot be shortened, not even by the bucket's owner.
        let (key, _) = try #require(extended.first)
        #expect(throws: LifeboatError.self) { try s3.setObjectLock(key, version: nil, mode: .governance, until: first) }

        // Nothing is garbage: prune removes nothing and holds nothing (ObjectLockPruneTests has
        // the rest). The snapshots are stamped days ahead: it is told that is intended.
        let prune = try CLI.run(["prune", "--repo", location, "--allow-future", "--json"], environment: rgw.environment)
        #expect(prune.status == 0, "\(prune.output)")
        let pruned = try #require(try prune.json() as? [String: Any])
        #expect((pruned["removed"] as? [String])?.isEmpty == true && (pruned["held"] as? [Any])?.isEmpty == true, "\(prune.stdout)")
        let deep = try CLI.run(["verify", "--repo", location, "--deep"], environment: rgw.environment)
        #expect(deep.status == 0, "\(deep.output)")

        // verify checks every needed object's lock against its snapshots' dates.
        let verified = try CLI.run(["verify", "--repo", location, "--json"], environment: rgw.environment)
        #expect(verified.status == 0, "\(verified.output)")
        let checked = (try verified.json() as? [String: Any])?["locks_checked"] as? Int ?? 0
        #expect(checked >= packs.count + 2, "every pack and both manifests: \(verified.stdout)")
        // The same bytes put again: a new current version without a lock (what an overwrite is).
        let bytes = try #require(try s3.get(key))
        try s3.put(key, bytes)
        let short = try CLI.run(["verify", "--repo", location], environment: rgw.environment)
        #expect(short.status == 3 && short.output.contains("\(key) is not locked"), "\(short.output)")
    }

    @Test func aMultipartStoredFileIsLockedAndABucketWithoutLockIsRefused() throws {
        let box = try Sandbox("object-lock-f1")
        try box.file("big.bin", Sandbox.randomBytes(12 << 20))
        let location = rgw.newRepository("object-lock-f1")
        try box.writePolicy(schedules: ["daily: {cron: \"0 2 * * *\"}"], repository: location, s3: "{part_size_mib: 5}")
        #expect(
            try CLI.run(
                ["init", "--repo", location, "--format", "1", "--object-lock", "compliance", "--lock-margin-days", "0", "--lock-max-days", "2"],
                environment: rgw.environment
            )
            .status == 0)
        #expect(try CLI.run(["backup", "--policy", box.policy, "--schedule", "daily"], environment: rgw.environment).status == 0)
        let s3 = try #require(try rgw.storage(location) as? S3Storage)
        let stored = try #require(try s3.list("data/").first, "a stored file of 12 MiB, uploaded in parts")
        let lock = try #require(try s3.objectLock(stored.key))
        // No retention: locked for --lock-max-days from the backup.
        #expect(lock.mode == "COMPLIANCE")
        let until = try #require(lock.until)
        #expect(abs(until.timeIntervalSinceNow - 2 * 86_400) < 600, "\(until)")

        // A bucket made without Object Lock cannot get it: refused, nothing written.
        let plain = rgw.newRepository("object-lock-none")
        #expect(try CLI.run(["init", "--repo", plain], environment: rgw.environment).status == 0)
        let other = plain.replacingOccurrences(of: "/repo", with: "/other")
        let refused = try CLI.run(["init", "--repo", other, "--object-lock", "governance"], environment: rgw.environment)
        #expect(refused.status == 2 && refused.stderr.contains("without Object Lock"), "\(refused.output)")
        let directory = try CLI.run(["init", "--repo", box.root + "/dir", "--object-lock", "governance"])
        #expect(directory.status == 2, "\(directory.output)")
    }
}
