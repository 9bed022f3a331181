import Foundation
import LifeboatCore
import Testing

/// Named and tagged snapshots: `backup --name pre-migration-… --tag pre-migration` before a
/// schema change, found by name and tag, kept through a year of `run` with keep-daily 7
/// (`keep-tag`), until `forget NAME`.
@Suite(.serialized) struct NamedSnapshotTests {
    func list(_ box: Sandbox, _ extra: [String] = []) throws -> [[String: Any]] {
        try #require(try CLI.run(["snapshots", "--repo", box.repo, "--json"] + extra).json() as? [[String: Any]])
    }

    @Test func aTaggedSnapshotOutlivesAYearOfDailyRetentionUntilForgottenByName() throws {
        let box = try Sandbox("named")
        try box.file("app.yaml", Array("version: 1\n".utf8))
        try box.writePolicy(schedules: ["daily: {cron: \"0 2 * * *\", retention: {keep-daily: 7, keep-tag: pre-migration}}"])
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        let clock = { (t: String) in ["LIFEBOAT_FAKE_NOW": t] }
        let named = try CLI.run(
            [
                "backup", "--policy", box.policy, "--schedule", "daily", "--name", "pre-migration-20260105",
                "--tag", "pre-migration", "--tag", "schema-42",
            ], environment: clock("2026-01-05T03:00:00Z"))
        #expect(named.status == 0, "\(named.output)")
        #expect(named.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "pre-migration-20260105")
        // A manual snapshot with a name: never forgotten by retention.
        #expect(try CLI.run(["backup", "--policy", box.policy, "--name", "before-upgrade"], environment: clock("2026-01-05T04:00:00Z")).status == 0)
        // Names are unique, and must not read as something else.
        let again = try CLI.run(["backup", "--policy", box.policy, "--name", "pre-migration-20260105"], environment: clock("2026-01-06T03:00:00Z"))
        #expect(again.status == 2 && again.stderr.contains("already named"), "\(again.output)")
        #expect(try CLI.run(["backup", "--policy", box.policy, "--name", "latest"]).status == 2)
        #expect(try CLI.run(["backup", "--policy", box.policy, "--name", "cafe1234"]).status == 2)
        #expect(try CLI.run(["backup", "--policy", box.policy, "--tag", "no spaces"]).status == 2)

        // A year of nightly cron, a week at a time.
        let start = Date(timeIntervalSince1970: 1_767_578_400)  // 2026-01-05T02:00:00Z
        for week in 1...52 {
            let now = Timestamp.rfc3339(start.addingTimeInterval(Double(week) * 7 * 86_400 + 1800))
            let run = try CLI.run(["run", "--policy", box.policy], environment: clock(now))
            #expect(run.status == 0, "week \(week): \(run.output)")
            if run.status != 0 { break }
        }
        let all = try list(box)
        let names = all.compactMap { $0["name"] as? String }
        #expect(names.contains("pre-migration-20260105") && names.contains("before-upgrade"))
        #expect(all.filter { $0["schedule"] as? String == "daily" }.count == 8, "\(names)")  // 7 kept daily + the tagged one
        let tagged = try list(box, ["--tag", "pre-migration"])
        #expect(tagged.count == 1 && tagged.first?["tags"] as? [String] == ["pre-migration", "schema-42"])

        // Every command that takes a snapshot takes the name.
        #expect(try CLI.run(["verify", "--repo", box.repo, "pre-migration-20260105"]).status == 0)
        let restore = try CLI.run(["restore", "pre-migration-20260105", "--repo", box.repo, "--to", box.root + "/out"])
        #expect(restore.status == 0, "\(restore.output)")
        #expect(try String(contentsOfFile: box.root + "/out/app.yaml", encoding: .utf8) == "version: 1\n")
        let forgotten = try CLI.run(["forget", "pre-migration-20260105", "--repo", box.repo])
        #expect(forgotten.status == 0, "\(forgotten.output)")
        #expect(try list(box, ["--tag", "pre-migration"]).isEmpty)
        #expect(try list(box).contains { $0["name"] as? String == "before-upgrade" })
    }
}
