import Foundation
import LifeboatCore
import Testing

/// kill -9 at any moment of a backup leaves no snapshot listed, `verify` clean, and the next
/// backup succeeds; a second writer fails fast with exit 5 naming the holder.
@Suite(.serialized) struct CrashSafetyTests {
    func bigSandbox(_ label: String, megabytes: Int) throws -> Sandbox {
        let box = try Sandbox(label)
        // Text-like data (base64 of random bytes): compressible, but not trivially.
        for i in 0..<max(1, megabytes / 4) {
            try box.file("part-\(i).txt", Array(Data(Sandbox.randomBytes(3 << 20)).base64EncodedData()))
        }
        try CLI.run(["init", "--repo", box.repo])
        return box
    }

    func snapshotCount(_ box: Sandbox) throws -> Int {
        let list = try CLI.run(["snapshots", "--repo", box.repo, "--json"])
        return (try list.json() as? [Any])?.count ?? -1
    }

    func assertRecovers(_ box: Sandbox, expectedSnapshots: Int) throws {
        #expect(try snapshotCount(box) == expectedSnapshots)
        let verify = try CLI.run(["verify", "--repo", box.repo, "--json"])
        #expect(verify.status == 0, "\(verify.output)")
        let next = try CLI.run(["backup", "--policy", box.policy])
        #expect(next.status == 0, "\(next.output)")
        #expect(try snapshotCount(box) == expectedSnapshots + 1)
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0)
    }

    @Test(arguments: ["after-capture", "before-manifest", "atomic-write-before-rename"])
    func killAtEachCommitStepLeavesNoSnapshot(point: String) throws {
        let box = try bigSandbox("crash", megabytes: 8)
        let result = try CLI.run(["backup", "--policy", box.policy], environment: ["LIFEBOAT_CRASH_AT": point])
        #expect(result.status == 9 || result.status == 128 + 9, "the process was to be killed at \(point): \(result.output)")
        try assertRecovers(box, expectedSnapshots: 0)
    }

    @Test func killAfterTheManifestLeavesACompleteSnapshot() throws {
        let box = try bigSandbox("crash-after", megabytes: 4)
        _ = try CLI.run(["backup", "--policy", box.policy], environment: ["LIFEBOAT_CRASH_AT": "after-manifest"])
        try assertRecovers(box, expectedSnapshots: 1)
    }

    @Test func killAtRandomMomentsNeverLeavesAHalfSnapshot() throws {
        let box = try bigSandbox("crash-random", megabytes: 48)
        var count = 0
        for delay in [0.01, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8] {
            let (process, out, err) = try CLI.start(["backup", "--policy", box.policy, "--compression", "zstd:6"])
            Thread.sleep(forTimeInterval: delay)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            _ = CLI.read(out)
            _ = CLI.read(err)
            // A kill can land after the manifest's rename: then the snapshot is complete and listed.
            let now = try snapshotCount(box)
            #expect(now == count || now == count + 1, "after kill at \(delay)s")
            if process.terminationReason == .exit && process.terminationStatus == 0 { #expect(now == count + 1) }
            count = now
            let verify = try CLI.run(["verify", "--repo", box.repo, "--deep"])
            #expect(verify.status == 0, "after kill at \(delay)s: \(verify.output)")
        }
        try assertRecovers(box, expectedSnapshots: count)
    }

    @Test func backupsShareTheLockPruneFailsFastNamingTheHolderAndAStaleLockDoesNotBlock() throws {
        let box = try bigSandbox("lock", megabytes: 24)
        // zstd:19 makes this backup take many seconds.
        let (first, out, err) = try CLI.start(["backup", "--policy", box.policy, "--compression", "zstd:19"])
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        let records = box.repo + "/locks"
        var holderWritten = false
        for _ in 0..<200 where !holderWritten {
            Thread.sleep(forTimeInterval: 0.02)
            holderWritten = ((try? FileManager.default.contentsOfDirectory(atPath: records)) ?? []).contains { $0.hasSuffix(".json") }
        }
        #expect(holderWritten)

        let started = Date()
        let prune = try CLI.run(["prune", "--repo", box.repo])
        #expect(prune.status == 5, "\(prune.output)")
        #expect(prune.stderr.contains("pid \(first.processIdentifier)") && prune.stderr.contains("to itself"), "\(prune.stderr)")
        #expect(Date().timeIntervalSince(started) < 5, "a locked repository must fail fast, not wait")
        let second = try CLI.run(["backup", "--policy", box.policy, "--compression", "zstd:1"])
        #expect(second.status == 0, "a second backup shares the lock: \(second.output)")
        #expect(first.isRunning)

        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        _ = CLI.read(out)
        _ = CLI.read(err)
        let third = try CLI.run(["backup", "--policy", box.policy, "--compression", "zstd:1"])
        #expect(third.status == 0, "\(third.output)")
        #expect(third.stderr.contains("stale lock") && third.stderr.contains("pid \(first.processIdentifier)"), "\(third.stderr)")
        #expect(try snapshotCount(box) == 2)
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0)
        #expect(try CLI.run(["prune", "--repo", box.repo]).status == 0)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: records)) ?? []).isEmpty, "every holder removed its record")
    }
}

/// forget and prune have the same guarantee as backup: a kill at any step leaves a repository
/// that verifies clean, and the next run finishes the job.
@Suite(.serialized) struct ForgetPruneCrashTests {
    @Test(arguments: ["forget-midway", "prune-midway"])
    func killDuringRetentionLeavesAConsistentRepository(point: String) throws {
        let box = try Sandbox("crash-retention")
        try box.file("a.conf", Array("x".utf8))
        try box.writePolicy(schedules: ["hourly: {cron: \"0 * * * *\", retention: {keep-last: 1}}"])
        try CLI.run(["init", "--repo", box.repo, "--format", "1"])
        for _ in 1...4 {
            let backup = try CLI.run(["backup", "--policy", box.policy, "--schedule", "hourly"])
            #expect(backup.status == 0)
            Thread.sleep(forTimeInterval: 1.05)  // distinct snapshot times
        }
        let killed = try CLI.run(["forget", "--policy", box.policy, "--prune"], environment: ["LIFEBOAT_CRASH_AT": point])
        #expect(killed.status == 9 || killed.status == 137, "\(killed.output)")
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0)
        let finish = try CLI.run(["forget", "--policy", box.policy, "--prune", "--json"])
        #expect(finish.status == 0, "\(finish.output)")
        let listed = try #require(try CLI.run(["snapshots", "--repo", box.repo, "--json"]).json() as? [Any])
        #expect(listed.count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: box.repo + "/data").count == 1)
        let verify = try CLI.run(["verify", "--repo", box.repo, "--json"])
        #expect((try verify.json() as? [String: Any])?["garbage"] as? [String] == [])
    }
}
