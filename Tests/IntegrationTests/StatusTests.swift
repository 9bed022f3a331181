import Foundation
import LifeboatCore
import Testing

/// `lifeboat status`: objectives watched between drills, as a monitoring check calls it: met
/// right after a backup (exit 0), missed once the newest snapshot is older than the RPO (exit
/// 4), with the schedules' next firings and the stored bytes in the JSON.
@Suite struct StatusTests {
    @Test func statusExits4WhenTheNewestSnapshotIsOlderThanTheRPO() throws {
        let box = try Sandbox("status")
        try box.file("app.yaml", Array("a: 1\n".utf8))
        try """
        repository: \(box.repo)
        sources:
          cfg: {type: files, path: \(box.source), objectives: {rpo: 1h}}
          other: {type: files, path: \(box.source)}
        schedules:
          hourly: {cron: "0 * * * *", sources: [cfg]}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        let never = try CLI.run(["status", "--policy", box.policy])
        #expect(never.status == 4, "no snapshot at all misses the objective: \(never.output)")
        #expect(try CLI.run(["backup", "--policy", box.policy, "--schedule", "hourly"]).status == 0)

        let now = try CLI.run(["status", "--policy", box.policy, "--json"])
        #expect(now.status == 0, "\(now.output)")
        let status = try #require(try now.json() as? [String: Any])
        #expect(status["met"] as? Bool == true && (status["stored_bytes"] as? Int ?? 0) > 0)
        let sources = try #require(status["sources"] as? [[String: Any]])
        let cfg = try #require(sources.first { $0["source"] as? String == "cfg" })
        #expect(cfg["met"] as? Bool == true && (cfg["age_seconds"] as? Double ?? 99) < 60 && cfg["rpo_objective_seconds"] as? Double == 3600)
        let other = try #require(sources.first { $0["source"] as? String == "other" })
        #expect(other["met"] == nil && other["newest_snapshot"] == nil, "no objective, no snapshot: not judged")
        let hourly = try #require((status["schedules"] as? [[String: Any]])?.first)
        #expect((hourly["next_firing"] as? String)?.hasSuffix(":00:00Z") == true)

        let later = Timestamp.rfc3339(Date().addingTimeInterval(3 * 3600))
        let missed = try CLI.run(["status", "--policy", box.policy], environment: ["LIFEBOAT_FAKE_NOW": later])
        #expect(missed.status == 4, "\(missed.output)")
        #expect(missed.stdout.contains("OBJECTIVE MISSED") && missed.stdout.contains("cfg (files): 3.0 h old"), "\(missed.stdout)")
        #expect(missed.stdout.contains("(RPO 60 min: MISSED)"), "\(missed.stdout)")
    }

    /// `lifeboat schedules`: the next firings of every schedule in UTC, read in the policy's
    /// time zone, across the autumn DST change (the daily 02:30 fires once, the hourly stays
    /// hourly), with the output shape the issue fixed.
    @Test func schedulesListsTheNextFiringsInUTC() throws {
        let box = try Sandbox("schedules")
        try """
        repository: \(box.repo)
        timezone: Europe/Berlin
        sources:
          cfg: {type: files, path: \(box.source)}
        schedules:
          nightly: {cron: "30 2 * * *"}
          hourly: {cron: "0 * * * *"}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        let listed = try CLI.run(["schedules", "--policy", box.policy, "--from", "2026-10-24T23:30:00Z", "--count", "3", "--json"])
        #expect(listed.status == 0, "\(listed.output)")
        let schedules = try #require(try listed.json() as? [[String: Any]])
        #expect(schedules.map { Set($0.keys) } == [["name", "cron", "timezone", "next"], ["name", "cron", "timezone", "next"]])
        #expect(schedules.map { $0["name"] as? String } == ["nightly", "hourly"])
        #expect(schedules[0]["timezone"] as? String == "Europe/Berlin" && schedules[0]["cron"] as? String == "30 2 * * *")
        #expect(schedules[0]["next"] as? [String] == ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z", "2026-10-27T01:30:00Z"])
        #expect(schedules[1]["next"] as? [String] == ["2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"])

        let text = try CLI.run(["schedules", "--policy", box.policy, "--from", "2026-10-24T23:30:00Z", "--count", "1"])
        #expect(text.stdout.contains("nightly (30 2 * * *, Europe/Berlin):\n  2026-10-25T00:30:00Z  Sun 2026-10-25 02:30 GMT+2"), "\(text.stdout)")

        let bad = try CLI.run(["schedules", "--policy", box.policy, "--from", "tomorrow"])
        #expect(bad.status == 2 && bad.stderr.contains("RFC 3339"), "\(bad.output)")
    }
}
