import Foundation
import LifeboatCore
import Testing

/// Regressions from the hostile-world run (#13): one test per numbered item, named after it.
@Suite struct HostileWorldTests {
    func snapshots(_ box: Sandbox) throws -> [[String: Any]] {
        try CLI.run(["snapshots", "--repo", box.repo, "--json"]).json() as? [[String: Any]] ?? []
    }

    func backup(_ box: Sandbox, at time: String? = nil) throws -> [String: Any] {
        let result = try CLI.run(["backup", "--policy", box.policy, "--json"], environment: time.map { ["LIFEBOAT_FAKE_NOW": $0] } ?? [:])
        #expect(result.status == 0, "\(result.output)")
        return try #require(try result.json() as? [String: Any])
    }

    @Test func item2_restoreLatestRefusesWhenTheNewestManifestIsDamaged() throws {
        let box = try Sandbox("latest-damaged")
        try box.file("a.conf", Array("one\n".utf8))
        try CLI.run(["init", "--repo", box.repo])
        let older = try backup(box, at: "2026-11-20T02:00:00Z")
        try box.file("a.conf", Array("two\n".utf8))
        let newer = try backup(box, at: "2026-11-21T02:00:00Z")
        let newerId = try #require(newer["id"] as? String)
        let path = box.repo + "/snapshots/\(newerId).json"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0x04
        try bytes.write(to: URL(fileURLWithPath: path))

        let latest = try CLI.run(["restore", "latest", "--repo", box.repo, "--to", box.root + "/out"])
        #expect(latest.status == 3, "\(latest.output)")
        #expect(latest.stderr.contains(newerId) && latest.stderr.contains(older["name"] as! String), "names the damaged one and the intact fallback")
        #expect(!FileManager.default.fileExists(atPath: box.root + "/out"))
        let byId = try CLI.run(["restore", String(newerId.prefix(6)), "--repo", box.repo, "--to", box.root + "/out"])
        #expect(byId.status == 3 && byId.stderr.contains("damaged"), "\(byId.output)")
        // Explicitly choosing the older one still works.
        let explicit = try CLI.run(["restore", older["name"] as! String, "--repo", box.repo, "--to", box.root + "/out"])
        #expect(explicit.status == 0, "\(explicit.output)")
        #expect(try String(contentsOfFile: box.root + "/out/a.conf", encoding: .utf8) == "one\n")
    }

    @Test func item3_aFutureTimestampDoesNotWipeTheRepository() throws {
        let box = try Sandbox("future")
        try box.file("a.conf", Array("x".utf8))
        try box.writePolicy(schedules: ["hourly: {cron: \"0 * * * *\", retention: {keep-within: 2d}}"])
        try CLI.run(["init", "--repo", box.repo])
        for hour in 3...5 {
            let r = try CLI.run(["run", "--policy", box.policy], environment: ["LIFEBOAT_FAKE_NOW": "2026-11-20T0\(hour):00:00Z"])
            #expect(r.status == 0, "\(r.output)")
        }
        #expect(try snapshots(box).count == 3)

        // --now alone is refused; --rehearse shows the plan and changes nothing.
        let refused = try CLI.run(
            ["run", "--policy", box.policy, "--now", "2036-01-01T00:00:00Z"],
            environment: ["LIFEBOAT_FAKE_NOW": "2026-11-20T06:00:00Z"])
        #expect(refused.status == 2 && refused.stderr.contains("--rehearse"), "\(refused.output)")
        let rehearsal = try CLI.run(
            ["run", "--policy", box.policy, "--now", "2036-01-01T00:00:00Z", "--rehearse", "--json"],
            environment: ["LIFEBOAT_FAKE_NOW": "2026-11-20T06:00:00Z"])
        #expect(rehearsal.status == 0, "\(rehearsal.output)")
        let plan = try #require(try rehearsal.json() as? [String: Any])
        #expect(plan["rehearsal"] as? Bool == true)
        // keep-within counts from the newest snapshot, never from a later clock: nothing goes.
        #expect(plan["forgotten"] as? [String] == [], "\(plan)")
        #expect(try snapshots(box).count == 3)

        // A clock that ran ahead stamps a snapshot in 2036; when the clock is right again the
        // served slot in the future is skew (backed up anyway) and retention refuses (exit 2).
        // While the clock is wrong, the jump is seen: the newest snapshot is years after the others.
        let ahead = try CLI.run(["run", "--policy", box.policy], environment: ["LIFEBOAT_FAKE_NOW": "2036-01-01T00:00:00Z"])
        #expect(ahead.status == 2 && ahead.stderr.contains("jumped forward"), "\(ahead.output)")
        #expect(try snapshots(box).count == 4)
        let back = try CLI.run(["run", "--policy", box.policy, "--json"], environment: ["LIFEBOAT_FAKE_NOW": "2026-11-20T07:00:00Z"])
        #expect(back.status == 2, "\(back.output)")
        let report = try #require(try back.json() as? [String: Any])
        let hourly = try #require((report["schedules"] as? [[String: Any]])?.first)
        #expect(hourly["status"] as? String == "ok")
        #expect((hourly["warning"] as? String)?.contains("skew") == true)
        #expect((report["retention_error"] as? String)?.contains("hourly-20360101T000000Z") == true)
        let names = try snapshots(box).map { $0["name"] as! String }
        #expect(names.filter { $0.hasPrefix("hourly-202611") }.count == 4, "\(names)")

        let forget = try CLI.run(["forget", "--policy", box.policy], environment: ["LIFEBOAT_FAKE_NOW": "2026-11-20T07:00:00Z"])
        #expect(forget.status == 2 && forget.stderr.contains("--allow-future"))
        let prune = try CLI.run(["prune", "--repo", box.repo], environment: ["LIFEBOAT_FAKE_NOW": "2026-11-20T07:00:00Z"])
        #expect(prune.status == 2)
        // With --allow-future, keep-within counts from now, not from 2036: nothing real goes.
        let allowed = try CLI.run(
            ["forget", "--policy", box.policy, "--allow-future", "--json"],
            environment: ["LIFEBOAT_FAKE_NOW": "2026-11-20T07:00:00Z"])
        #expect(allowed.status == 0, "\(allowed.output)")
        #expect((try allowed.json() as? [String: Any])?["forgotten"] as? [String] == [])
    }

    @Test func item4_anEnormousKeepWithinIsRefusedAtLoad() throws {
        let box = try Sandbox("overflow")
        try box.writePolicy(schedules: ["daily: {cron: \"0 2 * * *\", retention: {keep-within: 1000000000000y}}"])
        try CLI.run(["init", "--repo", box.repo])
        for args in [["forget", "--policy", box.policy], ["run", "--policy", box.policy]] {
            let r = try CLI.run(args)
            #expect(r.status == 2, "\(args[0]): \(r.output)")
            #expect(r.stderr.contains("policy.yaml:5:") && r.stderr.contains("1000 years"), "\(r.output)")
        }
        let times = box.root + "/times"
        try "2026-11-20T02:00:00Z\n".write(toFile: times, atomically: true, encoding: .utf8)
        let plan = try CLI.run(["retention", "plan", "--times", times, "--keep-within", "99999999999999y"])
        #expect(plan.status == 2, "\(plan.output)")
    }

    @Test func item7_verifyRacingForgetReportsNoCorruption() throws {
        let box = try Sandbox("race")
        try box.file("a.conf", Array("x".utf8))
        try box.file("b.bin", Sandbox.randomBytes(2_000_000))
        try box.writePolicy(schedules: ["hourly: {cron: \"0 * * * *\", retention: {keep-last: 1}}"])
        try CLI.run(["init", "--repo", box.repo])
        for round in 0..<6 {
            for hour in 0..<5 {
                let r = try CLI.run(
                    ["backup", "--policy", box.policy, "--schedule", "hourly"],
                    environment: ["LIFEBOAT_FAKE_NOW": String(format: "2026-11-2%dT%02d:00:00Z", round, hour)])
                #expect(r.status == 0, "\(r.output)")
            }
            let (verify, out, err) = try CLI.start(["verify", "--repo", box.repo, "--deep", "--json"])
            let forget = try CLI.run(["forget", "--policy", box.policy])
            verify.waitUntilExit()
            let stdout = CLI.read(out)
            let stderr = CLI.read(err)
            #expect(verify.terminationStatus == 0, "round \(round): \(stdout) \(stderr)")
            _ = forget
        }
    }

    @Test func item8_theNextBackupRemovesTemporariesOfAKilledOne() throws {
        let box = try Sandbox("tmp-left")
        for i in 0..<12 { try box.file("part-\(i).bin", Sandbox.randomBytes(4 << 20)) }
        try CLI.run(["init", "--repo", box.repo, "--format", "1"])  // format 1's temporaries live in data/<id>/
        var hidden: [String] = []
        for _ in 0..<50 where hidden.isEmpty {
            let (process, out, err) = try CLI.start(["backup", "--policy", box.policy, "--compression", "zstd:9"])
            for _ in 0..<400 where hidden.isEmpty {
                usleep(5_000)
                hidden = Self.hiddenTemporaries(box.repo + "/data")
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            _ = CLI.read(out)
            _ = CLI.read(err)
            hidden = Self.hiddenTemporaries(box.repo + "/data")
        }
        #expect(!hidden.isEmpty, "a killed backup leaves its temporary")
        let next = try CLI.run(["backup", "--policy", box.policy])
        #expect(next.status == 0, "\(next.output)")
        #expect(next.stderr.contains("removed 1 temporary left by an interrupted run"), "\(next.output)")
        #expect(Self.hiddenTemporaries(box.repo + "/data").isEmpty)
    }

    static func hiddenTemporaries(_ data: String) -> [String] {
        let ids = (try? FileManager.default.contentsOfDirectory(atPath: data)) ?? []
        return ids.flatMap { id in
            ((try? FileManager.default.contentsOfDirectory(atPath: data + "/" + id)) ?? []).filter { $0.hasPrefix(".") }.map { "\(id)/\($0)" }
        }
    }

    @Test(arguments: [1, 2])
    func item9_anEmptiedSnapshotsDirectoryIsNotPrunedAway(format: Int) throws {
        let box = try Sandbox("emptied")
        try box.file("a.conf", Array("x".utf8))
        try CLI.run(["init", "--repo", box.repo, "--format", String(format)])
        let data = box.repo + (format == 1 ? "/data" : "/packs")
        _ = try backup(box)
        for name in try FileManager.default.contentsOfDirectory(atPath: box.repo + "/snapshots") {
            try FileManager.default.removeItem(atPath: box.repo + "/snapshots/" + name)
        }
        let verify = try CLI.run(["verify", "--repo", box.repo])
        #expect(verify.stderr.contains("holds data but no snapshot"), "\(verify.output)")
        let prune = try CLI.run(["prune", "--repo", box.repo])
        #expect(prune.status == 2 && prune.stderr.contains("--all"), "\(prune.output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: data).count == 1)
        #expect(try CLI.run(["prune", "--repo", box.repo, "--all"]).status == 0)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: data).allSatisfy { shard in
                ((try? FileManager.default.contentsOfDirectory(atPath: data + "/" + shard)) ?? []).isEmpty
            })
    }

    @Test func item11_aSteppedDayOfMonthRunsEveryOtherDay() throws {
        let box = try Sandbox("cron-step")
        try box.file("a.conf", Array("x".utf8))
        try box.writePolicy(schedules: ["other: {cron: \"0 0 */2 * *\"}"])
        try CLI.run(["init", "--repo", box.repo])
        let first = try CLI.run(["run", "--policy", box.policy, "--json"], environment: ["LIFEBOAT_FAKE_NOW": "2026-11-21T01:00:00Z"])
        #expect(first.status == 0)
        // The 22nd is even: nothing fires; the 23rd does.
        let even = try CLI.run(["run", "--policy", box.policy, "--json"], environment: ["LIFEBOAT_FAKE_NOW": "2026-11-22T01:00:00Z"])
        #expect(((try even.json() as? [String: Any])?["schedules"] as? [[String: Any]])?.first?["status"] as? String == "not-due")
        let odd = try CLI.run(["run", "--policy", box.policy, "--json"], environment: ["LIFEBOAT_FAKE_NOW": "2026-11-23T01:00:00Z"])
        #expect(((try odd.json() as? [String: Any])?["schedules"] as? [[String: Any]])?.first?["status"] as? String == "ok")
        try box.writePolicy(schedules: ["never: {cron: \"0 0 31 2 *\"}"])
        let never = try CLI.run(["run", "--policy", box.policy])
        #expect(never.status == 2 && never.stderr.contains("never fires"), "\(never.output)")
    }

    @Test func item12_lockAndRepositoryModesAndUniqueAsideNames() throws {
        let box = try Sandbox("modes")
        try box.file("a.conf", Array("x".utf8))
        try box.file("bin/tool", Array("#!/bin/sh\n".utf8), mode: 0o4755)
        try FileManager.default.createDirectory(atPath: box.repo, withIntermediateDirectories: true)
        chmod(box.repo, 0o755)
        try CLI.run(["init", "--repo", box.repo])
        var st = stat()
        stat(box.repo, &st)
        #expect(st.st_mode & 0o777 == 0o700)
        _ = try backup(box)
        stat(box.repo + "/lock", &st)
        #expect(st.st_mode & 0o777 == 0o600)
        let target = box.root + "/out"
        #expect(try CLI.run(["restore", "latest", "--repo", box.repo, "--to", target]).status == 0)
        stat(target + "/bin/tool", &st)
        #expect(st.st_mode & 0o7777 == 0o4755, "setuid kept (the tests run as root, so chown ran before it)")
        let one = try CLI.run(["restore", "latest", "--repo", box.repo, "--to", target, "--force"])
        let two = try CLI.run(["restore", "latest", "--repo", box.repo, "--to", target, "--force"])
        #expect(one.status == 0 && two.status == 0, "\(one.output) \(two.output)")
        let asides = try FileManager.default.contentsOfDirectory(atPath: box.root).filter { $0.hasPrefix("out.lifeboat-previous-") }
        #expect(asides.count == 2)
    }

    @Test func manifestsAndConfigWithAnAddedKeyOrABitFlipAreDamage() throws {
        let box = try Sandbox("strict")
        try box.file("a.conf", Array("x".utf8))
        try CLI.run(["init", "--repo", box.repo])
        let id = try #require(try backup(box)["id"] as? String)
        let manifest = box.repo + "/snapshots/\(id).json"
        let original = try String(contentsOfFile: manifest, encoding: .utf8)
        try original.replacingOccurrences(of: "{\n", with: "{\n  \"added\" : 1,\n", options: [], range: original.range(of: "{\n"))
            .write(toFile: manifest, atomically: true, encoding: .utf8)
        let verify = try CLI.run(["verify", "--repo", box.repo])
        #expect(verify.status == 3 && verify.stderr.contains("\"added\""), "\(verify.output)")
        try original.write(toFile: manifest, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["verify", "--repo", box.repo]).status == 0)

        let config = box.repo + "/config.json"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: config))
        var damaged = 0
        for offset in stride(from: 0, to: bytes.count, by: 3) {
            var flipped = bytes
            flipped[offset] ^= 0x01
            try flipped.write(to: URL(fileURLWithPath: config))
            let r = try CLI.run(["snapshots", "--repo", box.repo])
            // A flip in insignificant whitespace may leave the same document; anything else is refused.
            if r.status != 0 {
                damaged += 1
                #expect(r.status == 3 || r.status == 2, "offset \(offset): \(r.output)")
            } else {
                let same =
                    (try? JSONSerialization.jsonObject(with: flipped) as? NSDictionary)
                    == (try JSONSerialization.jsonObject(with: bytes) as? NSDictionary)
                #expect(same, "offset \(offset): a changed config.json was accepted")
            }
        }
        try bytes.write(to: URL(fileURLWithPath: config))
        #expect(damaged > 0)
    }
}
