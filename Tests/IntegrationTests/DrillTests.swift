import Foundation
import LifeboatCore
import Testing

/// Restore drills against real servers (PostgreSQL, Redis, Chroma) and a file tree: every
/// report field, the scratch targets removed afterwards, exit 4 for a missed objective, exit 1
/// for a failed check, the history and the metrics.
@Suite(.serialized) struct DrillTests {
    @Test func aRestoreDrillMeasuresRTOAndRPOAndWritesItsReports() throws {
        let box = try Sandbox("drill")
        try box.populateConfigTree()
        let redis = try RedisServer(in: box.root + "/redis")
        try redis.populate(keys: 20_000)
        let pg = try PostgresServer(in: box.root + "/pg")
        try pg.pgbench(database: "app", scale: 1)
        let chroma = try ChromaServer(in: box.root + "/chroma")
        try chroma.populate(collection: "docs", count: 2000, space: "cosine", seed: 5)
        try """
        repository: \(box.repo)
        sources:
          cfg: {type: files, path: \(box.source)}
          cache: {type: redis, port: \(redis.port), config: \(redis.config)}
          db: {type: postgres, port: \(pg.port), database: app, user: postgres}
          vectors: {type: chroma, path: \(chroma.persistDirectory), url: "\(chroma.url)", stop: "\(chroma.stopCommand)", start: "\(chroma.startCommand)"}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        let backup = try CLI.run(["backup", "--policy", box.policy])
        #expect(backup.status == 0, "\(backup.output)")

        let scratch = box.root + "/scratch"
        let redisPort = try RedisServer.freePort()
        let chromaPort = try RedisServer.freePort()
        func plan(_ name: String, expectBranches: String = "1", rpo: String = "1h") throws -> String {
            let path = box.root + "/\(name).yaml"
            try """
            drill: \(name)
            policy: \(box.policy)
            sources:
              cfg:
                target: {directory: \(scratch)/cfg}
                checks: [{files: entries}]
              cache:
                target: {directory: \(scratch)/cache, port: \(redisPort)}
                checks: [{redis: keys}, {redis: digest, compare: live}]
              db:
                target: {database: app_drill}
                checks:
                  - {sql: "SELECT count(*) FROM pgbench_branches", expect: "\(expectBranches)"}
                  - {sql: "SELECT sum(abalance) FROM pgbench_accounts", compare: live}
              vectors:
                target:
                  directory: \(scratch)/vectors
                  port: \(chromaPort)
                  start: "\(PostgresServer.sandboxScripts)/chroma-sandbox.sh start {directory}.lifeboat-server {port} {directory}"
                  stop: "\(PostgresServer.sandboxScripts)/chroma-sandbox.sh stop {directory}.lifeboat-server"
            objectives:
              cfg: {rto: 10m, rpo: \(rpo)}
              cache: {rto: 10m, rpo: \(rpo)}
              db: {rto: 10m, rpo: \(rpo)}
              vectors: {rto: 10m, rpo: \(rpo)}
            """.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let reports = box.root + "/reports"
        let ok = try CLI.run(["drill", "--plan", try plan("nightly"), "--report-dir", reports, "--metrics-file", box.root + "/drill.prom"])
        #expect(ok.status == 0, "\(ok.output)")
        let jsonPath = try #require(ok.stdout.split(separator: "\n").last.map(String.init))
        #expect(jsonPath.hasSuffix(".json") && FileManager.default.fileExists(atPath: jsonPath))
        let stem = String(jsonPath.dropLast(5))
        #expect(FileManager.default.fileExists(atPath: stem + ".md") && FileManager.default.fileExists(atPath: stem + ".html"))
        let html = try String(contentsOfFile: stem + ".html", encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("RTO objective"))
        // What happened first, the time base stated, and an audit block with the plan's hash.
        let markdown = try String(contentsOfFile: stem + ".md", encoding: .utf8)
        #expect(markdown.contains("## What happened") && markdown.contains("offsets and RTO count from the drill's start"))
        let planHash = SHA256Hasher.hex(of: Array(try Data(contentsOf: URL(fileURLWithPath: box.root + "/nightly.yaml"))))
        #expect(markdown.contains("## Audit") && markdown.contains(planHash), "\(markdown)")
        // The report handed over verifies; one changed byte is exit 3.
        let verified = try CLI.run(["drills", "verify", jsonPath])
        #expect(verified.status == 0 && verified.stdout.contains("intact"), "\(verified.output)")
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: jsonPath)))
        let at = try #require(bytes.firstIndex(of: UInt8(ascii: "1")))
        bytes[at] = UInt8(ascii: "2")
        try Data(bytes).write(to: URL(fileURLWithPath: box.root + "/edited.json"))
        #expect(try CLI.run(["drills", "verify", box.root + "/edited.json"]).status == 3)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: jsonPath))) as? [String: Any])
        let rto = try #require(report["rto_seconds"] as? Double)
        let rpo = try #require(report["rpo_seconds"] as? Double)
        #expect(rto > 0 && rto < 600 && rpo > 0 && rpo < 3600)
        #expect(report["objectives_met"] as? Bool == true)
        let phases = try #require(report["phases"] as? [[String: Any]])
        #expect(Set(phases.compactMap { $0["source"] as? String }) == ["cfg", "cache", "db", "vectors"])
        #expect(
            phases.allSatisfy {
                $0["name"] != nil && ($0["start"] as? String).flatMap(Timestamp.parse) != nil && ($0["seconds"] as? Double ?? -1) >= 0
            })
        // Sources restore at once: some two sources' restores overlap in time, so the system's
        // RTO (the slowest source's) is less than the sum of the sources' restore-and-check
        // spans (one after another, it would be at least that sum).
        var spans: [String: (start: Date, end: Date)] = [:]
        for p in phases {
            guard let source = p["source"] as? String, let start = (p["start"] as? String).flatMap(Timestamp.parse),
                let seconds = p["seconds"] as? Double
            else { continue }
            let end = start.addingTimeInterval(seconds)
            spans[source] = spans[source].map { (min($0.start, start), max($0.end, end)) } ?? (start, end)
        }
        let intervals = Array(spans.values)
        let overlapping = intervals.indices.contains { i in
            intervals.indices.contains { j in i < j && intervals[i].start < intervals[j].end && intervals[j].start < intervals[i].end }
        }
        #expect(overlapping, "\(spans)")
        #expect(rto < intervals.reduce(0) { $0 + $1.end.timeIntervalSince($1.start) })
        let checks = try #require(report["checks"] as? [[String: Any]])
        #expect(checks.count >= 7 && checks.allSatisfy { $0["passed"] as? Bool == true && $0["name"] != nil && $0["detail"] != nil })
        #expect(checks.contains { ($0["detail"] as? String)?.contains("probe queries") == true })
        // RPO is measured from the drill's start to each source's own recovery point: its
        // capture moment, so they differ and follow the order the backup captured them in.
        let started = try #require((report["started"] as? String).flatMap(Timestamp.parse))
        var points: [Date] = []
        for source in try #require(report["sources"] as? [[String: Any]]) {
            let point = try #require((source["recovery_point"] as? String).flatMap(Timestamp.parse))
            #expect(abs(started.timeIntervalSince(point) - (source["rpo_seconds"] as? Double ?? -1)) < 0.01)
            points.append(point)
        }
        #expect(points == points.sorted() && Set(points).count == 4, "\(points)")
        // Scratch targets are gone; the live servers were not touched.
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: scratch)) ?? []).isEmpty)
        #expect((try? RESPClient(host: "127.0.0.1", port: redisPort, timeout: 1)) == nil)
        #expect(try pg.connect().value("SELECT count(*) FROM pg_database WHERE datname = 'app_drill'") == "0")
        #expect(chroma.isServing)
        let metrics = try String(contentsOfFile: box.root + "/drill.prom", encoding: .utf8)
        #expect(metrics.contains("lifeboat_drill_rto_seconds{drill=\"nightly\",source=\"db\"}"))
        #expect(metrics.contains("lifeboat_drill_last_success_timestamp_seconds{drill=\"nightly\"}"))
        #expect(try Promtool.checkMetrics(box.root + "/drill.prom") == "", "promtool check metrics")

        // The whole system to a moment: every source's newest snapshot at or before it, restored
        // into the plan's targets and kept there; the dry run shows the plan and past drill times.
        let moment = Timestamp.rfc3339(Date(), fractional: true)
        let nightly = box.root + "/nightly.yaml"
        let dry = try CLI.run(["restore", "--at", moment, "--plan", nightly, "--dry-run", "--json"])
        #expect(dry.status == 0, "\(dry.output)")
        let planned = try #require((try dry.json() as? [String: Any])?["sources"] as? [[String: Any]])
        #expect(planned.count == 4)
        let backupName = try #require(backup.stdout.split(separator: "\n").first.map(String.init))
        #expect(planned.allSatisfy { $0["snapshot"] as? String == backupName && ($0["skew_seconds"] as? Double ?? -1) >= 0 })
        #expect(planned.allSatisfy { $0["past_drill_seconds"] as? Double != nil })
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: scratch)) ?? []).isEmpty)  // a dry run writes nothing
        let system = try CLI.run(["restore", "--at", moment, "--plan", nightly, "--json"])
        #expect(system.status == 0, "\(system.output)")
        // Sources restore at once: the system is back in less than the sum of their restores.
        let restored = try #require(try system.json() as? [String: Any])
        let perSource = ((restored["sources"] as? [[String: Any]]) ?? []).compactMap { $0["restore_seconds"] as? Double }
        #expect(perSource.count == 4)
        let wall = try #require(restored["seconds"] as? Double)
        #expect(wall < perSource.reduce(0, +), "whole system \(wall) s, sources \(perSource)")
        #expect(try Sandbox.describeTree(scratch + "/cfg").count == Sandbox.describeTree(box.source).count)
        #expect(try RESPClient(host: "127.0.0.1", port: redisPort).expect("DBSIZE") == .integer(Int64(try redis.keys())))
        #expect(try pg.connect("app_drill").value("SELECT count(*) FROM pgbench_branches") == "1")
        _ = try? RESPClient(host: "127.0.0.1", port: redisPort).call("SHUTDOWN", "NOSAVE")
        _ = try ChildProcess.run(
            ["/bin/sh", "-c", "\(PostgresServer.sandboxScripts)/chroma-sandbox.sh stop \(scratch)/vectors.lifeboat-server"], in: "/")
        try pg.connect().query("DROP DATABASE app_drill")
        try FileManager.default.removeItem(atPath: scratch)

        // A missed objective: exit 4. A failed check: exit 1. Both are kept in the history.
        let missed = try CLI.run(["drill", "--plan", try plan("tight", rpo: "1s"), "--report-dir", reports])
        #expect(missed.status == 4, "\(missed.output)")
        let failed = try CLI.run(["drill", "--plan", try plan("wrong", expectBranches: "7"), "--report-dir", reports])
        #expect(failed.status == 1, "\(failed.output)")
        #expect(failed.stdout.contains("FAIL db: sql: SELECT count(*) FROM pgbench_branches = 7"))
        let history = try #require(try CLI.run(["drills", "--repo", box.repo, "--json"]).json() as? [[String: Any]])
        #expect(history.compactMap { $0["drill"] as? String } == ["nightly", "tight", "wrong"])

        // The same plan again: its report carries the first drill in its trend, with its values.
        let again = try CLI.run(["drill", "--plan", nightly, "--report-dir", reports])
        #expect(again.status == 0, "\(again.output)")
        let againPath = try #require(again.stdout.split(separator: "\n").last.map(String.init))
        let second = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: againPath))) as? [String: Any])
        #expect(try ReportSchema.violations(of: jsonPath) == [], "docs/drill-report.schema.json")
        #expect(try ReportSchema.violations(of: againPath) == [], "docs/drill-report.schema.json, with history")
        let trend = try #require(second["history"] as? [[String: Any]])
        #expect(trend.count == 1 && trend[0]["started"] as? String == report["started"] as? String)
        let firstDB = try #require((report["sources"] as? [[String: Any]])?.first { $0["source"] as? String == "db" })
        let againMarkdown = try String(contentsOfFile: String(againPath.dropLast(5)) + ".md", encoding: .utf8)
        let firstRow = "| \(report["started"] as? String ?? "?") | met | "
        #expect(againMarkdown.contains("## Trend") && againMarkdown.contains(firstRow), "\(againMarkdown)")
        let rtoCell = String(format: "%.1f s", firstDB["rto_seconds"] as? Double ?? -1)
        #expect(againMarkdown.components(separatedBy: "\n").first { $0.hasPrefix(firstRow) }?.contains(rtoCell) == true)
        #expect(againMarkdown.contains("against the previous drill"))
        // The HTML in a real browser: rendered, not blank, with the timeline's bars (restore blue,
        // checks green) and the trend's sparklines drawn.
        let png = box.root + "/report.png"
        try HeadlessBrowser.screenshot(String(againPath.dropLast(5)) + ".html", to: png)
        let picture = try HeadlessBrowser.look(at: png, counting: ["#3b82f6", "#10b981"])
        #expect(picture.width == 1200 && picture.height == 1800)
        #expect(picture.inkFraction > 0.03 && picture.colours > 50, "a blank or bare page: \(picture)")
        #expect(picture.counts.values.allSatisfy { $0 > 50 }, "the timeline's bars are not drawn: \(picture)")
        let byPlan = try #require(try CLI.run(["drills", "--repo", box.repo, "--plan", "nightly", "--json"]).json() as? [[String: Any]])
        #expect(byPlan.count == 2 && byPlan.allSatisfy { ($0["sources"] as? [[String: Any]])?.count == 4 })
        let listed = try CLI.run(["drills", "--repo", box.repo, "--plan", nightly])
        #expect(listed.status == 0 && listed.stdout.contains("2 drills") && listed.stdout.contains("vectors"), "\(listed.output)")
        #expect(try CLI.run(["drills", "--repo", box.repo, "--plan", "nosuch"]).status == 2)

        // A scratch target that already holds something is refused before anything runs.
        try FileManager.default.createDirectory(atPath: scratch + "/cfg", withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: scratch + "/cfg/precious"))
        let refused = try CLI.run(["drill", "--plan", try plan("occupied"), "--report-dir", reports])
        #expect(refused.status == 2, "\(refused.output)")
        #expect(FileManager.default.fileExists(atPath: scratch + "/cfg/precious"))
    }
}
