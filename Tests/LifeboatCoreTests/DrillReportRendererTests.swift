import Foundation
import Testing

@testable import LifeboatCore

#if canImport(FoundationXML)
import FoundationXML
#endif

/// The drill report renderings: the SVG timeline is well-formed, has a bar per phase, and shows
/// an RTO objective as a line when it is on the scale and as a label when it is far off it.
@Suite struct DrillReportRendererTests {
    func report(rtoObjective: Double) -> DrillReport {
        let start = "2026-11-23T02:00:00.000Z"
        return DrillReport(
            drill: "nightly", kind: "failover", plan: "/etc/lifeboat/drill.yaml", repository: "/var/backups/lifeboat", host: "db1",
            started: start, finished: "2026-11-23T02:00:05.000Z", rtoSeconds: 4.2, rpoSeconds: 0.8, objectivesMet: true,
            checksPassed: true,
            sources: [
                .init(
                    source: "db", type: "postgres", snapshot: "daily-1", recoveryPoint: start, rpoSeconds: 0.8, rtoSeconds: 4.2,
                    rtoObjectiveSeconds: rtoObjective, rpoObjectiveSeconds: 60, met: true),
                .init(
                    source: "cache <&>", type: "redis", snapshot: "daily-1", recoveryPoint: start, rpoSeconds: 9, rtoSeconds: 1.5,
                    rtoObjectiveSeconds: nil, rpoObjectiveSeconds: nil, met: true),
            ],
            phases: [
                .init(source: "db", name: "restore", start: start, offsetSeconds: 0.1, seconds: 1.0),
                .init(source: "db", name: "wal replay", start: start, offsetSeconds: 1.1, seconds: 3.0),
                .init(source: "db", name: "checks", start: start, offsetSeconds: 4.1, seconds: 0.1),
                .init(source: "cache <&>", name: "restore", start: start, offsetSeconds: 0.2, seconds: 1.2),
                .init(source: "cache <&>", name: "checks", start: start, offsetSeconds: 1.4, seconds: 0.1),
            ],
            checks: [.init(source: "db", name: "sql: SELECT 1 = 1", passed: true, detail: "got 1, expected 1")], error: nil)
    }

    final class Counter: NSObject, XMLParserDelegate {
        var elements: [String: Int] = [:]
        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]
        ) {
            elements[name, default: 0] += 1
        }
    }

    func parse(_ svg: String) -> Counter? {
        let parser = XMLParser(data: Data(svg.utf8))
        let counter = Counter()
        parser.delegate = counter
        return parser.parse() ? counter : nil
    }

    @Test func theTimelineIsWellFormedWithABarPerPhase() throws {
        let near = DrillReportRenderer.svg(report(rtoObjective: 6))
        let counted = try #require(parse(near))
        #expect(counted.elements["rect"] == 5 + 4)  // five phase bars, four legend swatches
        #expect(near.contains("<line") && near.contains("RTO objective 6.0 s"))

        let far = DrillReportRenderer.svg(report(rtoObjective: 300))
        #expect(parse(far) != nil)
        #expect(far.contains("RTO objective 5.0 min (met) →"))
    }

    /// An objective line is grey when met and red only when missed.
    @Test func theObjectiveIsRedOnlyWhenMissed() throws {
        let met = DrillReportRenderer.svg(report(rtoObjective: 6))
        #expect(met.contains("stroke=\"#94a3b8\"") && !met.contains("stroke=\"#dc2626\" stroke-dasharray=\"4 3\"><title>"))
        let missed = DrillReportRenderer.svg(report(rtoObjective: 3))
        #expect(missed.contains("stroke=\"#dc2626\" stroke-dasharray=\"4 3\"><title>RTO objective 3.0 s (missed)"))
    }

    /// The failover's story comes first: what was killed and when, the heartbeats written and
    /// acknowledged, the writes lost, the sources not killed, and the time base.
    @Test func whatHappenedComesFirstAndCountsTheLostWrites() throws {
        var r = report(rtoObjective: 6)
        r.failover = .init(
            killedAt: "2026-11-23T02:00:01.000Z", killed: ["db"], heartbeatsWritten: ["db": 10],
            lastHeartbeatAcknowledged: ["db": "2026-11-23T02:00:00.900Z"])
        r.sources[0].rpoSeconds = 0.4  // the newest recovered heartbeat: 02:00:00.600
        let md = DrillReportRenderer.markdown(r)
        #expect(md.hasPrefix("# Drill nightly (failover)\n\n## What happened\n"))
        #expect(md.contains("The primaries of db were killed with SIGKILL at 2026-11-23T02:00:01.000Z"))
        #expect(md.contains("db: 10 heartbeats written, the last acknowledged at 2026-11-23T02:00:00.900Z"))
        #expect(md.contains("acknowledged writes lost: those of the last 0.300 s"), "\(md)")
        #expect(md.contains("cache <&> was not killed"))
        #expect(md.contains("offsets and RTO count from the kill") && md.contains("start (s after the kill)"))
        #expect(DrillReportRenderer.html(r).contains("<h2>What happened</h2>"))
    }

    /// With the writer's marks, the loss is a count; a source none of whose heartbeats survived
    /// lost them all; a write that failed before the kill is said.
    @Test func lostWritesAreCountedFromTheWritersMarks() throws {
        var r = report(rtoObjective: 6)
        r.failover = .init(
            killedAt: "2026-11-23T02:00:01.000Z", killed: ["db", "cache <&>"], heartbeatsWritten: ["db": 10, "cache <&>": 9],
            lastHeartbeatAcknowledged: ["db": "2026-11-23T02:00:00.900Z", "cache <&>": "2026-11-23T02:00:00.950Z"])
        r.failover?.newestHeartbeatRecovered = ["db": "2026-11-23T02:00:00.600Z"]
        r.failover?.acknowledgedWritesLost = ["db": 3, "cache <&>": 9]
        r.failover?.heartbeatErrors = ["cache <&>": "connection reset"]
        let md = DrillReportRenderer.markdown(r)
        #expect(
            md.contains("the newest recovered is from 2026-11-23T02:00:00.600Z; **acknowledged writes lost: 3, those of the last 0.300 s**"), "\(md)")
        #expect(md.contains("cache <&>: 9 heartbeats written") && md.contains("**acknowledged writes lost: 9, all**"))
        #expect(md.contains("a heartbeat write failed before the kill: connection reset"))
        r.failover?.acknowledgedWritesLost = ["db": 0, "cache <&>": 9]
        r.failover?.newestHeartbeatRecovered = ["db": "2026-11-23T02:00:00.900Z"]
        #expect(
            DrillReportRenderer.markdown(r).contains(
                "db: 10 heartbeats written, the last acknowledged at 2026-11-23T02:00:00.900Z; the newest recovered is from 2026-11-23T02:00:00.900Z; no acknowledged write was lost"
            ))
        let lost = Heartbeat.lost([5, 6, 7, 8], newest: Heartbeat(mark: 6, time: Date()))
        #expect(lost == 2 && Heartbeat.lost([5, 6], newest: nil) == 2)
    }

    /// The trend: the earlier drills' values in a table, the change against the previous drill
    /// and the objective, and a well-formed sparkline per source and figure.
    @Test func theTrendShowsThePreviousDrillsAndTheChange() throws {
        var r = report(rtoObjective: 6)
        var earlier = report(rtoObjective: 6)
        earlier.started = "2026-11-22T02:00:00.000Z"
        earlier.sources[0].rtoSeconds = 3.7
        earlier.sources[0].rpoSeconds = 1.1
        var failed = report(rtoObjective: 6)
        failed.started = "2026-11-21T02:00:00.000Z"
        failed.checksPassed = false
        failed.sources[0].rtoSeconds = nil
        r.history = DrillTrend.previous(of: "nightly", before: r.started, in: [failed, earlier, r])
        #expect(r.history?.map(\.started) == ["2026-11-21T02:00:00.000Z", "2026-11-22T02:00:00.000Z"])
        let md = DrillReportRenderer.markdown(r)
        #expect(md.contains("## Trend\n\nThe last 2 drills of this plan before this one"))
        #expect(md.contains("| 2026-11-22T02:00:00.000Z | met | 3.7 s | 1.1 s |"), "\(md)")
        #expect(md.contains("| 2026-11-21T02:00:00.000Z | checks failed | — |"))
        #expect(md.contains("| **2026-11-23T02:00:00.000Z (this drill)** | met | 4.2 s | 0.8 s |"))
        #expect(
            md.contains(
                "- db: RTO 4.2 s (+0.5 s against the previous drill; 70% of the objective), RPO 0.8 s (−0.3 s against the previous drill; 1% of the objective)"
            ))
        let html = DrillReportRenderer.html(r)
        let sparklines = html.components(separatedBy: "<svg").dropFirst().map { "<svg" + $0.components(separatedBy: "</svg>")[0] + "</svg>" }
        #expect(sparklines.count == 1 + 2 * r.sources.count)  // the timeline, then RTO and RPO per source
        for svg in sparklines { #expect(parse(svg) != nil, "\(svg)") }
        #expect(sparklines[1].contains("<title>db RTO: 3.7 s, 4.2 s</title>") && sparklines[1].contains("stroke=\"#94a3b8\""))
        // Missed now: the objective line and the last point turn red.
        let missed = DrillTrendRenderer.sparkline([3.7, 4.2], objective: 4, label: "db RTO")
        #expect(missed.contains("stroke=\"#dc2626\"") && missed.contains("fill=\"#dc2626\""))
        r.history = []
        #expect(DrillReportRenderer.markdown(r).contains("This is the first drill of plan nightly"))
    }

    /// A report handed over is checked against the SHA-256 it carries: one changed byte fails.
    @Test func aReportCarriesItsChecksumAndAnEditIsCaught() throws {
        var r = report(rtoObjective: 6)
        r.audit = .init(
            format: DrillReport.currentFormat, lifeboatVersion: "0.1.0", runBy: "root@db1", repositoryId: "abc", planSHA256: "00",
            planText: "drill: nightly\n", timeBase: "from the drill's start", definitions: ["rto": "…", "rpo": "…"])
        let bytes = try r.json()
        let back = try DrillReport.verify(bytes, path: "r.json")
        #expect(back.checksum?.count == 64)
        var edited = bytes
        let index = try #require(
            String(decoding: bytes, as: UTF8.self).range(of: "4.2").map {
                String(decoding: bytes, as: UTF8.self).utf8.distance(from: String(decoding: bytes, as: UTF8.self).utf8.startIndex, to: $0.lowerBound)
            })
        edited[index] = UInt8(ascii: "9")
        #expect(throws: LifeboatError.self) { try DrillReport.verify(edited, path: "r.json") }
        let md = DrillReportRenderer.markdown(r)
        #expect(md.contains("## Audit") && md.contains("run by `root@db1`") && md.contains("lifeboat drills verify nightly-"))
    }

    @Test func htmlAndMarkdownCarryTheFiguresAndEscapeNames() throws {
        let r = report(rtoObjective: 300)
        let html = DrillReportRenderer.html(r)
        #expect(html.contains("RTO <b>4.2 s</b>") && html.contains("RPO <b>0.8 s</b>"))
        #expect(html.contains("cache &lt;&amp;&gt;") && !html.contains("cache <&>"))
        let md = DrillReportRenderer.markdown(r)
        #expect(md.contains("| db | postgres | daily-1 |") && md.contains("**RTO 4.2 s**"))
        let metrics = DrillReportRenderer.metrics(r, lastSuccess: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(metrics.contains("lifeboat_drill_rto_seconds{drill=\"nightly\",source=\"db\"} 4.2"))
        #expect(metrics.contains("lifeboat_drill_last_success_timestamp_seconds{drill=\"nightly\"} 1800000000"))
        #expect(metrics.contains("lifeboat_drill_last_run_timestamp_seconds{drill=\"nightly\"} 1795399200"))
        var failover = r
        failover.failover = .init(killedAt: r.started, killed: ["db"], heartbeatsWritten: ["db": 5], lastHeartbeatAcknowledged: [:])
        failover.failover?.acknowledgedWritesLost = ["db": 2]
        #expect(
            DrillReportRenderer.metrics(failover, lastSuccess: nil).contains(
                "lifeboat_drill_acknowledged_writes_lost{drill=\"nightly\",source=\"db\"} 2"))
    }
}
