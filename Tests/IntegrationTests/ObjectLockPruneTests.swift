import Foundation
import LifeboatCore
import Testing

/// #16: prune in a repository with S3 Object Lock, on a real Ceph RGW bucket. It removes an
/// object, every version of it, only once no lock holds it (its own, or an index file's that
/// names it), reports the rest with the date after which it can, and keeps every snapshot whole.
/// Time passing is the bucket's owner shortening GOVERNANCE locks (`x-amz-bypass-governance-
/// retention`), which S3 permits that user and nobody else.
@Suite(.serialized) struct ObjectLockPruneTests {
    let rgw = RGWServer.shared

    /// Day `n` after tomorrow, at `hour`:00 UTC (as in ObjectLockTests).
    func day(_ n: Int, hour: Int) -> Date {
        let today = floor(Date().timeIntervalSince1970 / 86_400) * 86_400
        return Date(timeIntervalSince1970: today + Double(n + 1) * 86_400 + Double(hour) * 3600)
    }

    func prune(_ location: String) throws -> (removed: [String], held: [String: String]) {
        let result = try CLI.run(["prune", "--repo", location, "--allow-future", "--json"], environment: rgw.environment)
        #expect(result.status == 0, "\(result.output)")
        let report = try #require(try result.json() as? [String: Any])
        let held = (report["held"] as? [[String: Any]] ?? []).reduce(into: [String: String]()) {
            $0[$1["key"] as? String ?? ""] = $1["until"] as? String
        }
        return (report["removed"] as? [String] ?? [], held)
    }

    /// A GOVERNANCE-locked repository (margin a day, at most 30) for `box`'s policy, a daily
    /// schedule with `retention`.
    func lockedRepository(_ box: Sandbox, _ label: String, retention: String) throws -> (location: String, s3: S3Storage) {
        let location = rgw.newRepository(label)
        try box.writePolicy(schedules: ["daily: {cron: \"0 2 * * *\", retention: {\(retention)}}"], repository: location)
        let created = try CLI.run(
            ["init", "--repo", location, "--object-lock", "governance", "--lock-margin-days", "1", "--lock-max-days", "30"],
            environment: rgw.environment)
        #expect(created.status == 0, "\(created.output)")
        return (location, try #require(try rgw.storage(location) as? S3Storage))
    }

    /// The owner moves every version of `key` to end in two seconds.
    func expireSoon(_ s3: S3Storage, _ key: String) throws {
        for version in try s3.versions(key) where !version.isDeleteMarker && version.key == key {
            try s3.setObjectLock(key, version: version.id, mode: .governance, until: Date().addingTimeInterval(2), bypassGovernance: true)
        }
    }

    @Test func pruneRemovesOnlyWhatNoLockHoldsAndSaysUntilWhen() throws {
        let box = try Sandbox("object-lock-prune")
        // S1 holds 20 MiB found nowhere else: its first pack (16 MiB) is S1's alone.
        let firstOnly = Sandbox.randomBytes(20 << 20)
        try box.file("first-only.bin", firstOnly)
        try box.file("kept.txt", Array("kept\n".utf8))
        let (location, s3) = try lockedRepository(box, "ol-prune", retention: "keep-last: 1")

        var env = rgw.environment
        env["LIFEBOAT_FAKE_NOW"] = Timestamp.rfc3339(day(0, hour: 3))
        #expect(try CLI.run(["backup", "--policy", box.policy, "--schedule", "daily"], environment: env).status == 0)
        let first = try #require(try s3.list("snapshots/").first?.key)
        let firstIndex = try #require(try s3.list("index/").first?.key)
        try FileManager.default.removeItem(atPath: box.source + "/first-only.bin")
        try box.file("second.txt", Array("second\n".utf8))
        env["LIFEBOAT_FAKE_NOW"] = Timestamp.rfc3339(day(1, hour: 3))
        #expect(try CLI.run(["backup", "--policy", box.policy, "--schedule", "daily"], environment: env).status == 0)
        // keep-last 1 forgets S1 at the next firing (02:00 on day 1), S2 at 02:00 on day 2; plus a day.
        let firstUntil = Timestamp.rfc3339(day(2, hour: 2))
        let secondUntil = day(3, hour: 2)

        let forget = try CLI.run(["forget", "--policy", box.policy, "--allow-future"], environment: rgw.environment)
        #expect(forget.status == 0, "\(forget.output)")
        #expect(try s3.list("snapshots/").count == 1)

        // 1. Everything S1 alone needed is still locked: held with S1's date, nothing removed.
        let held = try prune(location)
        #expect(held.held[first] == firstUntil, "the forgotten manifest: \(held)")
        let packs = held.held.keys.filter { $0.hasPrefix("packs/") }
        #expect(packs.count == 1, "S1's own pack: \(held)")
        let pack = try #require(packs.first)
        #expect(held.held[pack] == firstUntil)
        #expect(!held.removed.contains(pack) && !held.removed.contains(first))
        #expect(try s3.size(pack) != nil, "a held pack stays readable")
        let human = try CLI.run(["prune", "--repo", location, "--allow-future"], environment: rgw.environment)
        #expect(human.status == 0 && human.stdout.contains("locked") && human.stdout.contains(firstUntil), "\(human.output)")

        // 2. The manifest's and the pack's own locks end, and (standing for an index file whose
        //    time is up) S2's index file's too. S1's index file, which names the pack, is still
        //    locked (S2 reuses another of its packs): it stays, but the pack goes, every version;
        //    the manifest goes; the packs S2's index file named are indexed anew (here under the
        //    same name: the same bytes), locked as long as S2 needs them.
        let secondIndex = try #require(try s3.list("index/").map(\.key).first { $0 != firstIndex })
        for key in [first, pack, secondIndex] { try expireSoon(s3, key) }
        Thread.sleep(forTimeInterval: 3)
        let second = try prune(location)
        #expect(second.held.isEmpty, "\(second)")
        for key in [first, pack] {
            #expect(second.removed.contains(key), "\(key): \(second)")
            #expect(try s3.versions(key).filter { $0.key == key }.isEmpty, "no version or delete marker of \(key) left")
        }
        #expect(try s3.size(firstIndex) != nil, "a locked index file stays")
        // (the new index file names what S2's named: the same bytes, so the same name, rewritten)
        let written = try s3.list("index/").map(\.key).filter { $0 != firstIndex }
        #expect(written == [secondIndex], "the packs S2's index file named are indexed anew")
        for key in written {
            let until = try #require(try s3.objectLock(key)?.until, "\(key) is locked")
            #expect(until >= secondUntil, "\(key) is locked until \(until), S2 needs \(secondUntil)")
        }
        #expect(try CLI.run(["verify", "--repo", location, "--deep"], environment: rgw.environment).status == 0)
        var restore = try box.restoresLatestAsTheSource(location, environment: rgw.environment)
        #expect(restore.ok, "\(restore.output)")

        // 3. The same 20 MiB backed up again: S1's index file still names the deleted pack, but no
        //    backup reuses a chunk whose pack is gone: they are stored anew, and restore.
        try box.file("first-only.bin", firstOnly)
        env["LIFEBOAT_FAKE_NOW"] = Timestamp.rfc3339(day(2, hour: 3))
        let third = try CLI.run(["backup", "--policy", box.policy, "--schedule", "daily", "--json"], environment: env)
        #expect(third.status == 0, "\(third.output)")
        #expect(third.stdout.contains("\"new_bytes\""), "\(third.stdout)")
        let newBytes = (try? third.json()).flatMap { json in
            ((json as? [String: Any])?["components"] as? [[String: Any]])?.compactMap { ($0["dedup"] as? [String: Any])?["new_bytes"] as? Int }.first
        }
        // The deleted pack held 16 MiB of it (the rest is in a pack S2 still uses, and reused).
        #expect((newBytes ?? 0) >= 16 << 20, "first-only.bin's deleted chunks stored again: \(third.stdout)")
        #expect(try CLI.run(["verify", "--repo", location, "--deep"], environment: rgw.environment).status == 0)
        try FileManager.default.removeItem(atPath: box.root + "/restored")
        restore = try box.restoresLatestAsTheSource(location, environment: rgw.environment)
        #expect(restore.ok, "\(restore.output)")

        // Nobody deletes a locked version without the governance bypass, not even the owner.
        let locked = try #require(try s3.versions("packs/").first { !$0.isDeleteMarker })
        let refused = try s3.deleteVersions([locked])
        #expect(refused.map(\.code) == ["AccessDenied"], "\(refused)")
        #expect(try s3.size(locked.key) != nil)
    }

    /// Backups stop (the source is gone): retention keeps the last snapshot past the date its
    /// lock was set for, so `run` extends the lock of its manifest, packs and index files.
    @Test func runExtendsTheLocksOfASnapshotRetentionKeepsPastItsLock() throws {
        let box = try Sandbox("object-lock-renew")
        try box.file("a.bin", Sandbox.randomBytes(1 << 20))
        let (location, s3) = try lockedRepository(box, "ol-renew", retention: "keep-last: 2")
        // S1 two days ago: keep-last 2 would have forgotten it by now had later backups run, so
        // its lock ends a margin (a day) after it was taken... now.
        var env = rgw.environment
        env["LIFEBOAT_FAKE_NOW"] = Timestamp.rfc3339(Date().addingTimeInterval(-2 * 86_400))
        #expect(try CLI.run(["backup", "--policy", box.policy, "--schedule", "daily"], environment: env).status == 0)
        let manifest = try #require(try s3.list("snapshots/").first?.key)
        let first = try #require(try s3.objectLock(manifest)?.until)
        #expect(abs(first.timeIntervalSinceNow - 86_400) < 120, "\(first)")

        try FileManager.default.moveItem(atPath: box.source, toPath: box.source + "-gone")
        Thread.sleep(forTimeInterval: 1.5)
        let run = try CLI.run(["run", "--policy", box.policy, "--json"], environment: rgw.environment)
        #expect(run.status == 1, "the backup fails: \(run.output)")
        let report = try #require(try run.json() as? [String: Any])
        #expect((report["locks_renewed"] as? [String])?.count == 1, "\(run.stdout)")
        let renewed = try #require(try s3.objectLock(manifest)?.until)
        #expect(renewed > first, "\(renewed) after \(first)")
        for object in try s3.list("packs/") + (try s3.list("index/")) {
            let until = try #require(try s3.objectLock(object.key)?.until)
            #expect(until >= renewed, "\(object.key) is locked until \(until), the snapshot until \(renewed)")
        }
        // A second run finds it renewed: nothing to do.
        let again = try CLI.run(["run", "--policy", box.policy, "--json"], environment: rgw.environment)
        #expect((try again.json() as? [String: Any])?["locks_renewed"] as? [String] == [], "\(again.stdout)")
        #expect(try CLI.run(["verify", "--repo", location], environment: rgw.environment).status == 0)
    }
}
