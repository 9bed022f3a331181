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
        #expect(far.contains("RTO objective 5.0 min →"))
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
    }
}
