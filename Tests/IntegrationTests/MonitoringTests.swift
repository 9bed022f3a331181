import Foundation
import LifeboatCore
import LifeboatTestSupport
import Testing

/// Debian's promtool (package `prometheus`), run on what Lifeboat ships and writes.
enum Promtool {
    static let binary = "/usr/bin/promtool"

    /// Runs `promtool ARGUMENTS [< input]`; its exit status and its output (stdout and stderr).
    static func run(_ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String) {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw LifeboatError(.operationFailed, "promtool is not installed (scripts/setup.sh test installs the prometheus package)")
        }
        let redirect = (input.map { " < '\($0)'" } ?? "") + " 2>&1"
        let result = try runProgram("/bin/sh", ["-c", "exec \"$0\" \"$@\"" + redirect, binary] + arguments)
        return (result.status, result.stdout)
    }

    /// `promtool check metrics` of a textfile: its complaints, "" when it has none.
    static func checkMetrics(_ path: String) throws -> String {
        let result = try run(["check", "metrics"], input: path)
        return result.status == 0 && result.output.isEmpty ? "" : "exit \(result.status): \(result.output)"
    }
}

/// The alerting rules Lifeboat ships, tested with promtool's rule unit tests
/// (contrib/prometheus/lifeboat.rules.test.yml: each rule silent before its threshold and
/// firing, with its labels and summary, after it), and the metrics files `run` and `verify`
/// write, linted by promtool (the drill's is in DrillTests).
@Suite struct MonitoringTests {
    static let contrib = CLIReferenceTests.root + "/contrib/prometheus"

    @Test func theAlertRulesPassTheirUnitTests() throws {
        let check = try Promtool.run(["check", "rules", Self.contrib + "/lifeboat.rules.yml"])
        #expect(check.status == 0, "\(check.output)")
        let test = try Promtool.run(["test", "rules", Self.contrib + "/lifeboat.rules.test.yml"])
        #expect(test.status == 0 && test.output.contains("SUCCESS"), "\(test.output)")
        // Every rule has a test.
        let rules = try String(contentsOfFile: Self.contrib + "/lifeboat.rules.yml", encoding: .utf8)
            .matches(of: /- alert: (\w+)/).map { String($0.1) }
        let tests = try String(contentsOfFile: Self.contrib + "/lifeboat.rules.test.yml", encoding: .utf8)
        #expect(rules.count >= 7)
        #expect(rules.filter { !tests.contains("alertname: \($0)\n") } == [])
    }

    /// contrib/grafana/lifeboat.json: every panel query is PromQL that promtool accepts (each
    /// is checked as a recording rule, with the dashboard's variables as `.*`), uses only
    /// documented metrics, and the panels cover the backups' age, the stored bytes, and the
    /// drills' RTO and RPO over time.
    @Test func theGrafanaDashboardsQueriesAreValidPromQL() throws {
        let path = CLIReferenceTests.root + "/contrib/grafana/lifeboat.json"
        let dashboard = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        var queries: [(panel: String, expr: String)] = []
        for panel in panels {
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                queries.append((panel["title"] as? String ?? "?", try #require(target["expr"] as? String)))
            }
        }
        #expect(queries.count >= 7)
        var rules = "groups:\n  - name: dashboard\n    rules:\n"
        for (i, query) in queries.enumerated() {
            let expr = query.expr.replacingOccurrences(of: "$instance", with: ".*").replacingOccurrences(of: "$drill", with: ".*")
            rules += "      - record: lifeboat:dashboard_query_\(i)\n        expr: '\(expr.replacingOccurrences(of: "'", with: "''"))'\n"
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("lifeboat-dashboard-\(getpid()).rules.yml").path
        try rules.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let check = try Promtool.run(["check", "rules", file])
        #expect(check.status == 0, "\(check.output)\n\(rules)")
        let documented = try String(contentsOfFile: CLIReferenceTests.root + "/docs/metrics.md", encoding: .utf8)
        let used = Set(queries.flatMap { $0.expr.matches(of: /lifeboat_[a-z_]+/).map { String($0.0) } })
        #expect(used.filter { !documented.contains("`\($0)`") } == [], "undocumented metrics in the dashboard")
        for metric in [
            "lifeboat_backup_last_success_timestamp_seconds", "lifeboat_backup_stored_bytes", "lifeboat_drill_rto_seconds",
            "lifeboat_drill_rpo_seconds",
        ] {
            #expect(used.contains(metric), "no panel shows \(metric)")
        }
        let variables = ((dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []).compactMap { $0["query"] as? String }
        #expect(variables.allSatisfy { q in q.matches(of: /lifeboat_[a-z_]+/).allSatisfy { documented.contains("`\($0.0)`") } })
    }

    @Test func theMetricsFilesOfRunAndVerifyAreValidExposition() throws {
        let box = try Sandbox("metrics")
        try box.populateConfigTree()
        try box.writePolicy(schedules: ["hourly: {cron: \"0 * * * *\", retention: {keep-last: 1}}"])
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        let run = try CLI.run(["run", "--policy", box.policy, "--metrics-file", box.root + "/run.prom"])
        #expect(run.status == 0, "\(run.output)")
        #expect(try Promtool.checkMetrics(box.root + "/run.prom") == "")
        let verify = try CLI.run(["verify", "--repo", box.repo, "--metrics-file", box.root + "/verify.prom"])
        #expect(verify.status == 0, "\(verify.output)")
        let text = try String(contentsOfFile: box.root + "/verify.prom", encoding: .utf8)
        #expect(text.contains("lifeboat_verify_success{deep=\"false\"} 1") && text.contains("lifeboat_verify_snapshots{deep=\"false\"} 1"))
        #expect(try Promtool.checkMetrics(box.root + "/verify.prom") == "")
    }
}
