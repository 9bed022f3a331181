import Foundation
import LifeboatCore
import Testing

/// `lifeboat run` as cron calls it, on a simulated machine clock (`LIFEBOAT_FAKE_NOW`).
@Suite struct RunTests {
    func policy(_ box: Sandbox, extra: String = "", hourlyRetention: String = "{keep-last: 3}") throws {
        try """
        repository: \(box.repo)
        sources:
          cfg: {type: files, path: \(box.source)}
        schedules:
          hourly: {cron: "0 * * * *", retention: \(hourlyRetention)}
          daily: {cron: "0 2 * * *", retention: {keep-daily: 2}}
        \(extra)
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
    }

    func run(_ box: Sandbox, _ now: String, metrics: String? = nil) throws -> (CLI.Result, [String: String]) {
        var args = ["run", "--policy", box.policy, "--json"]
        if let metrics { args += ["--metrics-file", metrics] }
        let result = try CLI.run(args, environment: ["LIFEBOAT_FAKE_NOW": now])
        let report = try result.json() as? [String: Any]
        var statuses: [String: String] = [:]
        for s in report?["schedules"] as? [[String: Any]] ?? [] { statuses[s["schedule"] as! String] = s["status"] as? String }
        return (result, statuses)
    }

    func names(_ box: Sandbox) throws -> [String] {
        (try CLI.run(["snapshots", "--repo", box.repo, "--json"]).json() as? [[String: Any]] ?? []).map { $0["name"] as! String }
    }

    @Test func dueSchedulesRunOncePerFiringAndMissedWindowsAreCaughtUpOnce() throws {
        let box = try Sandbox("run")
        try box.file("a.conf", Array("x".utf8))
        try policy(box, hourlyRetention: "{keep-last: 100}")
        try CLI.run(["init", "--repo", box.repo])

        var (result, status) = try run(box, "2026-11-20T01:30:00Z")
        #expect(result.status == 0, "\(result.output)")
        #expect(status == ["hourly": "ok", "daily": "ok"])  // never run: due at once
        (result, status) = try run(box, "2026-11-20T01:30:40Z")
        #expect(status == ["hourly": "not-due", "daily": "not-due"])  // same minute: nothing
        (_, status) = try run(box, "2026-11-20T02:00:00Z")
        #expect(status == ["hourly": "ok", "daily": "ok"])
        (_, status) = try run(box, "2026-11-20T07:10:00Z")  // five hourly windows missed
        #expect(status == ["hourly": "ok", "daily": "not-due"])
        (_, status) = try run(box, "2026-11-20T07:50:00Z")
        #expect(status == ["hourly": "not-due", "daily": "not-due"])
        // keep-daily 2 keeps one daily snapshot per day: the 01:30 one shares its day with 02:00.
        #expect(
            Set(try names(box)) == [
                "hourly-20261120T013000Z", "hourly-20261120T020000Z",
                "daily-20261120T020000Z", "hourly-20261120T071000Z",
            ])
    }

    @Test func retentionRunsAfterBackupsAndPruneFreesTheData() throws {
        let box = try Sandbox("run-retention")
        try box.file("a.conf", Array("x".utf8))
        try policy(box)
        try CLI.run(["init", "--repo", box.repo, "--format", "1"])
        for hour in 0..<6 { _ = try run(box, String(format: "2026-11-20T%02d:00:00Z", hour + 3)) }
        let hourly = try names(box).filter { $0.hasPrefix("hourly-") }
        #expect(hourly == ["hourly-20261120T060000Z", "hourly-20261120T070000Z", "hourly-20261120T080000Z"])
        let dataDirs = try FileManager.default.contentsOfDirectory(atPath: box.repo + "/data")
        let listed = try names(box)
        #expect(dataDirs.count == listed.count)  // forgotten snapshots' data is pruned
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0)
    }

    @Test func forgetDryRunChangesNothingThenForgetAndPrune() throws {
        let box = try Sandbox("forget")
        try box.file("a.conf", Array("x".utf8))
        try policy(box, hourlyRetention: "{keep-last: 100}")
        try CLI.run(["init", "--repo", box.repo])
        for hour in 0..<5 { _ = try run(box, String(format: "2026-11-20T%02d:00:00Z", hour + 3)) }
        #expect(try CLI.run(["backup", "--policy", box.policy]).status == 0)  // manual: never forgotten
        try policy(box, hourlyRetention: "{keep-last: 2}")
        let before = try names(box)

        let dry = try CLI.run(["forget", "--policy", box.policy, "--dry-run", "--json"])
        #expect(dry.status == 0, "\(dry.output)")
        let plan = try #require(try dry.json() as? [String: Any])
        #expect((plan["forgotten"] as? [String])?.count == 3)
        #expect(try names(box) == before)

        let forget = try CLI.run(["forget", "--policy", box.policy, "--prune", "--json"])
        #expect(forget.status == 0)
        let after = try names(box)
        #expect(after.filter { $0.hasPrefix("hourly-") } == ["hourly-20261120T060000Z", "hourly-20261120T070000Z"])
        #expect(after.contains { $0.hasPrefix("manual-") })
        let prune = try CLI.run(["prune", "--repo", box.repo, "--json"])
        #expect((try prune.json() as? [String: Any])?["removed"] as? [String] == [])  // forget --prune left nothing
        #expect(try CLI.run(["verify", "--repo", box.repo]).status == 0)
    }

    @Test func aFailingScheduleDoesNotStopTheOthersAndIsReported() throws {
        let box = try Sandbox("run-fail")
        try box.file("a.conf", Array("x".utf8))
        let hook = try WebhookReceiver()
        try """
        repository: \(box.repo)
        sources:
          cfg: {type: files, path: \(box.source)}
          gone: {type: files, path: \(box.root)/does-not-exist}
        schedules:
          broken: {cron: "@hourly", sources: [gone]}
          fine: {cron: "@hourly", sources: [cfg]}
        notify: {webhook: "http://127.0.0.1:\(hook.port)/hook"}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        try CLI.run(["init", "--repo", box.repo])
        let metrics = box.root + "/lifeboat.prom"
        let (result, status) = try run(box, "2026-11-20T05:00:00Z", metrics: metrics)
        #expect(result.status == 1)
        #expect(status == ["broken": "failed", "fine": "ok"])
        let text = try String(contentsOfFile: metrics, encoding: .utf8)
        #expect(text.contains("lifeboat_backup_failures_total{schedule=\"broken\",source=\"gone\"} 1"))
        #expect(text.contains("lifeboat_backup_last_success_timestamp_seconds{schedule=\"fine\",source=\"cfg\"}"))
        #expect(text.contains("lifeboat_run_success 0"))
        let body = try #require(hook.waitForBody())
        let payload = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        #expect((payload["text"] as? String)?.contains("broken") == true)
        #expect((payload["failures"] as? [[String: Any]])?.first?["schedule"] as? String == "broken")
        // The failed schedule is retried on the next call; the successful one is not re-run.
        let (_, again) = try run(box, "2026-11-20T05:03:00Z", metrics: metrics)
        #expect(again == ["broken": "failed", "fine": "not-due"])
        #expect(
            try String(contentsOfFile: metrics, encoding: .utf8).contains("lifeboat_backup_failures_total{schedule=\"broken\",source=\"gone\"} 2"))
    }
}

/// A one-request HTTP server on loopback (python3) that saves the body it receives.
final class WebhookReceiver {
    let port: Int
    let bodyPath: String
    private let process: Process

    init() throws {
        bodyPath = NSTemporaryDirectory() + "lifeboat-hook-\(UUID().uuidString)"
        let portPath = bodyPath + ".port"
        let script = """
            import http.server, sys
            class H(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
                    open(sys.argv[1] + '.tmp', 'wb').write(body)
                    import os; os.rename(sys.argv[1] + '.tmp', sys.argv[1])
                    self.send_response(204); self.end_headers()
                def log_message(self, *a): pass
            s = http.server.HTTPServer(('127.0.0.1', 0), H)
            open(sys.argv[1] + '.port', 'w').write(str(s.server_address[1]))
            s.timeout = 30
            s.handle_request()
            """
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, bodyPath]
        try process.run()
        var found: Int?
        for _ in 0..<200 where found == nil {
            Thread.sleep(forTimeInterval: 0.02)
            found = (try? String(contentsOfFile: portPath, encoding: .utf8)).flatMap { Int($0) }
        }
        guard let found else { throw LifeboatError(.operationFailed, "webhook receiver did not start") }
        port = found
    }

    func waitForBody() -> Data? {
        for _ in 0..<250 {
            if let data = FileManager.default.contents(atPath: bodyPath) { return data }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return nil
    }

    deinit {
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(atPath: bodyPath)
        try? FileManager.default.removeItem(atPath: bodyPath + ".port")
    }
}
