import Foundation

/// Renders a drill report for people: Markdown, and a self-contained HTML page with an inline
/// SVG timeline of the phases per source against the RTO objective.
public enum DrillReportRenderer {
    static func seconds(_ s: Double?) -> String {
        guard let s else { return "—" }
        if s < 120 { return String(format: "%.1f s", s) }
        if s < 7200 { return String(format: "%.1f min", s / 60) }
        return String(format: "%.1f h", s / 3600)
    }

    /// The "What happened" lines, first in both renderings: the disaster (what was killed, how,
    /// when), each killed source's heartbeats (written, last acknowledged, newest recovered, and
    /// the acknowledged writes lost between them), the sources not killed and why their RPO is
    /// what it is, and the time base the offsets count from.
    static func whatHappened(_ r: DrillReport) -> [String] {
        var lines: [String] = []
        if let f = r.failover {
            lines.append(
                "The primaries of \(f.killed.joined(separator: ", ")) were killed with SIGKILL at \(f.killedAt); each source was then recovered from the repository on its standby target."
            )
            let killedAt = Timestamp.parse(f.killedAt)
            for source in f.killed.sorted() {
                let written = f.heartbeatsWritten[source] ?? 0
                let acknowledged = f.lastHeartbeatAcknowledged[source]
                var line = "\(source): \(written) heartbeats written, the last acknowledged at \(acknowledged ?? "—")"
                if let last = acknowledged.flatMap(Timestamp.parse), let killedAt, last > killedAt {
                    // PostgreSQL's backends outlive a SIGKILLed postmaster for a moment.
                    line +=
                        " (\(String(format: "%.3f", last.timeIntervalSince(killedAt))) s after the kill: the server process answering it was still finishing)"
                }
                // Reports of older builds carry no recovered heartbeat: derive it from the RPO.
                let rpo = r.sources.first { $0.source == source }?.rpoSeconds
                let recovered =
                    f.newestHeartbeatRecovered.map { $0[source].flatMap(Timestamp.parse) }
                    ?? killedAt.flatMap { at in rpo.map { at.addingTimeInterval(-$0) } }
                let lost = f.acknowledgedWritesLost?[source]
                if let recovered, let last = acknowledged.flatMap(Timestamp.parse) {
                    let span = max(0, last.timeIntervalSince(recovered))
                    line += "; the newest recovered is from \(Timestamp.rfc3339(recovered, fractional: true))"
                    if let lost, lost > 0 {
                        line += "; **acknowledged writes lost: \(lost), those of the last \(String(format: "%.3f", span)) s**"
                    } else if lost == nil, span > 0.0005 {
                        line += "; **acknowledged writes lost: those of the last \(String(format: "%.3f", span)) s**"
                    } else {
                        line += "; no acknowledged write was lost"
                    }
                } else if let lost, lost > 0 {
                    line += "; none of them was recovered (the snapshot restored predates the drill): **acknowledged writes lost: \(lost), all**"
                }
                if let error = f.heartbeatErrors?[source] { line += "; a heartbeat write failed before the kill: \(error)" }
                lines.append(line + ".")
            }
            for s in r.sources where !f.killed.contains(s.source) {
                lines.append("\(s.source) was not killed: its RPO is the kill minus the moment its snapshot captured it (\(s.recoveryPoint ?? "—")).")
            }
        } else if let a = r.attack {
            lines.append(
                "A ransomware drill: with the backup host's own credentials, the drill tried to delete every object of the repository, then all at once, then the bucket (\(a.attempts) DELETE requests from \(a.started), \(seconds(a.seconds)))."
            )
            if a.protected {
                lines.append("S3 refused all \(a.attempts) of them: **nothing was deleted**; \(a.objectsAfter) of \(a.objectsBefore) objects remain.")
            } else {
                lines.append(
                    "**The repository is not protected**: \(a.stoppedBecause ?? "\(a.succeeded) DELETE requests succeeded"); \(a.objectsAfter) of \(a.objectsBefore) objects remain."
                )
            }
            lines.append("Then each source's snapshot was restored into a scratch target and checked; nothing live was stopped or changed.")
        } else {
            lines.append(
                "A restore drill: each source's snapshot was restored into a scratch target and checked; nothing live was stopped or changed.")
        }
        lines.append("Times: offsets and RTO count \(timeBase(r)); the drill ran from \(r.started) to \(r.finished) UTC.")
        return lines
    }

    /// The time base, for column headings.
    static func base(_ r: DrillReport) -> String { r.failover != nil ? "after the kill" : r.attack != nil ? "after the attack" : "after drill start" }

    /// What offsets and RTO count from, in a sentence.
    static func timeBase(_ r: DrillReport) -> String {
        if let f = r.failover { return "from the kill (\(f.killedAt))" }
        if let a = r.attack, let start = Timestamp.parse(a.started) {
            return "from the end of the attack (\(Timestamp.rfc3339(start.addingTimeInterval(a.seconds), fractional: true)))"
        }
        return "from the drill's start (\(r.started))"
    }

    public static func markdown(_ r: DrillReport) -> String {
        var md = "# Drill \(r.drill) (\(r.kind))\n\n## What happened\n\n"
        for line in whatHappened(r) { md += "- \(line)\n" }
        md += "\n## Result\n\n"
        md += "- started \(r.started), finished \(r.finished), on \(r.host)\n"
        md += "- plan `\(r.plan)`, repository `\(r.repository)`\n"
        md +=
            "- **RTO \(seconds(r.rtoSeconds))**, **RPO \(seconds(r.rpoSeconds))**; checks \(r.checksPassed ? "passed" : "FAILED"); objectives \(r.objectivesMet ? "met" : "MISSED")\n"
        if let error = r.error { md += "- error: \(error)\n" }
        md +=
            "\n## Sources\n\n| source | type | snapshot | recovery point | RPO | RPO objective | RTO | RTO objective | met |\n|---|---|---|---|---|---|---|---|---|\n"
        for s in r.sources {
            md +=
                "| \(s.source) | \(s.type) | \(s.snapshot ?? "—") | \(s.recoveryPoint ?? "—") | \(seconds(s.rpoSeconds)) | \(seconds(s.rpoObjectiveSeconds)) | \(seconds(s.rtoSeconds)) | \(seconds(s.rtoObjectiveSeconds)) | \(s.met ? "yes" : "**no**") |\n"
        }
        md += DrillTrendRenderer.markdown(r)
        md += "\n## Phases\n\n| source | phase | start (s \(base(r))) | seconds |\n|---|---|---|---|\n"
        for p in r.phases {
            md += "| \(p.source) | \(p.name) | \(String(format: "%.3f", p.offsetSeconds)) | \(String(format: "%.3f", p.seconds)) |\n"
        }
        md += "\n## Checks\n\n| source | check | result | detail |\n|---|---|---|---|\n"
        for c in r.checks {
            md +=
                "| \(c.source) | \(c.name.replacingOccurrences(of: "|", with: "\\|")) | \(c.passed ? "pass" : "**FAIL**") | \(c.detail.replacingOccurrences(of: "|", with: "\\|")) |\n"
        }
        if let a = r.audit {
            md += "\n## Audit\n\n" + auditLines(r).map { "- \($0)\n" }.joined()
            md += "\n<details><summary>The plan as run</summary>\n\n```yaml\n\(a.planText)\n```\n\n</details>\n"
        }
        return md
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// The timeline: one row per source, a bar per phase, a dashed line at each RTO objective.
    public static func svg(_ r: DrillReport) -> String {
        let sources = r.sources.map(\.source)
        // The scale covers the phases; an objective far beyond them is named at the right edge
        // instead of squeezing the bars into a sliver.
        let work = max(r.phases.map { $0.offsetSeconds + $0.seconds }.max() ?? 1, 0.001)
        let objectives = r.sources.compactMap(\.rtoObjectiveSeconds)
        let end = max(work * 1.1, objectives.filter { $0 <= work * 3 }.max() ?? 0)
        let left = 140.0
        let width = 640.0
        let row = 34.0
        let top = 30.0
        let height = top + row * Double(max(sources.count, 1)) + 40
        func x(_ t: Double) -> Double { left + width * t / end }
        let colours = [
            "restore": "#3b82f6", "fetch": "#0ea5e9", "decompress": "#6366f1", "wal replay": "#8b5cf6",
            "start": "#f59e0b", "checks": "#10b981",
        ]
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(left + width + 170))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        svg +=
            "<text x=\"\(left)\" y=\"16\">0 s (\(r.failover != nil ? "the kill" : r.attack != nil ? "the attack's end" : "drill start"))</text><text x=\"\(left + width - 40)\" y=\"16\">\(escape(seconds(end)))</text>\n"
        for (i, source) in sources.enumerated() {
            let y = top + row * Double(i)
            svg += "<text x=\"4\" y=\"\(y + 20)\">\(escape(source))</text>\n"
            for p in r.phases where p.source == source {
                let w = max(x(p.offsetSeconds + p.seconds) - x(p.offsetSeconds), 1)
                svg +=
                    "<rect x=\"\(String(format: "%.1f", x(p.offsetSeconds)))\" y=\"\(y + 6)\" width=\"\(String(format: "%.1f", w))\" height=\"20\" fill=\"\(colours[p.name] ?? "#64748b")\"><title>\(escape("\(p.source) \(p.name): \(seconds(p.seconds))"))</title></rect>\n"
            }
            // Grey when the objective is met, red only when it is missed (or not measured).
            let missed = r.sources[i].rtoObjectiveSeconds.map { objective in (r.sources[i].rtoSeconds ?? .infinity) > objective } ?? false
            let colour = missed ? "#dc2626" : "#94a3b8"
            let verdict = missed ? "missed" : "met"
            if let objective = r.sources[i].rtoObjectiveSeconds, objective > end {
                svg +=
                    "<text x=\"\(left + width + 12)\" y=\"\(y + 20)\" fill=\"\(colour)\" font-size=\"11\">RTO objective \(escape(seconds(objective))) (\(verdict)) →</text>\n"
            } else if let objective = r.sources[i].rtoObjectiveSeconds {
                svg +=
                    "<line x1=\"\(x(objective))\" x2=\"\(x(objective))\" y1=\"\(y + 2)\" y2=\"\(y + row)\" stroke=\"\(colour)\" stroke-dasharray=\"4 3\"><title>RTO objective \(escape(seconds(objective))) (\(verdict))</title></line>\n"
            }
        }
        let legendY = top + row * Double(max(sources.count, 1)) + 24
        var lx = left
        for name in ["restore", "wal replay", "start", "checks"] {
            svg +=
                "<rect x=\"\(lx)\" y=\"\(legendY - 10)\" width=\"12\" height=\"12\" fill=\"\(colours[name]!)\"/><text x=\"\(lx + 16)\" y=\"\(legendY)\">\(name)</text>\n"
            lx += 90
        }
        svg +=
            "<line x1=\"\(lx)\" x2=\"\(lx + 14)\" y1=\"\(legendY - 4)\" y2=\"\(legendY - 4)\" stroke=\"#dc2626\" stroke-dasharray=\"4 3\"/><text x=\"\(lx + 18)\" y=\"\(legendY)\">RTO objective</text>\n"
        return svg + "</svg>"
    }

    public static func html(_ r: DrillReport) -> String {
        let verdict = r.checksPassed ? (r.objectivesMet ? "objectives met" : "objectives MISSED") : "checks FAILED"
        var rows = ""
        for s in r.sources {
            rows +=
                "<tr><td>\(escape(s.source))</td><td>\(escape(s.type))</td><td>\(escape(s.snapshot ?? "—"))</td><td>\(escape(s.recoveryPoint ?? "—"))</td><td class=\"n\">\(seconds(s.rpoSeconds))</td><td class=\"n\">\(seconds(s.rpoObjectiveSeconds))</td><td class=\"n\">\(seconds(s.rtoSeconds))</td><td class=\"n\">\(seconds(s.rtoObjectiveSeconds))</td><td class=\"\(s.met ? "ok" : "bad")\">\(s.met ? "yes" : "no")</td></tr>\n"
        }
        var checks = ""
        for c in r.checks {
            checks +=
                "<tr><td>\(escape(c.source))</td><td>\(escape(c.name))</td><td class=\"\(c.passed ? "ok" : "bad")\">\(c.passed ? "pass" : "FAIL")</td><td>\(escape(c.detail))</td></tr>\n"
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Drill \(escape(r.drill)) — \(escape(r.started))</title>
            <style>body{font-family:sans-serif;margin:2em;color:#0f172a}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #cbd5e1;padding:4px 8px;text-align:left}td.n{white-space:nowrap}
            .ok{color:#047857}.bad{color:#b91c1c;font-weight:bold}.big{font-size:1.4em}</style></head><body>
            <h1>Drill \(escape(r.drill)) <small>(\(escape(r.kind)))</small></h1>
            <h2>What happened</h2>
            <ul>\(whatHappened(r).map { "<li>\(inlineHTML($0))</li>" }.joined())</ul>
            <p class="big">RTO <b>\(seconds(r.rtoSeconds))</b> · RPO <b>\(seconds(r.rpoSeconds))</b> · <span class="\(r.checksPassed && r.objectivesMet ? "ok" : "bad")">\(verdict)</span></p>
            <p>Started \(escape(r.started)), finished \(escape(r.finished)) on \(escape(r.host)). Plan <code>\(escape(r.plan))</code>, repository <code>\(escape(r.repository))</code>.\(r.error.map { " Error: " + escape($0) } ?? "")</p>
            <h2>Timeline</h2>
            \(svg(r))
            <h2>Sources</h2>
            <table><tr><th>source</th><th>type</th><th>snapshot</th><th>recovery point</th><th>RPO</th><th>RPO objective</th><th>RTO</th><th>RTO objective</th><th>met</th></tr>
            \(rows)</table>
            \(DrillTrendRenderer.html(r))
            <h2>Checks</h2>
            <table><tr><th>source</th><th>check</th><th>result</th><th>detail</th></tr>
            \(checks)</table>
            \(audit(r))
            </body></html>

            """
    }

    /// The audit block of the HTML report, the plan collapsed.
    static func audit(_ r: DrillReport) -> String {
        guard let a = r.audit else { return "" }
        return "<h2>Audit</h2><ul>" + auditLines(r).map { "<li>\(inlineHTML($0))</li>" }.joined() + "</ul>"
            + "<details><summary>The plan as run</summary><pre>\(escape(a.planText))</pre></details>"
    }

    /// The audit block's lines, in Markdown's inline syntax (`code`), for both renderings:
    /// version, who ran it, repository and snapshots, the plan's hash, the time base, the
    /// definitions, and how to check the report.
    static func auditLines(_ r: DrillReport) -> [String] {
        guard let a = r.audit else { return [] }
        var lines = [
            "Lifeboat \(a.lifeboatVersion), report format \(a.format), run by `\(a.runBy)`",
            "repository `\(r.repository)` (id \(a.repositoryId)); snapshots: "
                + r.sources.map { "\($0.source) `\($0.snapshot ?? "—")`" }.joined(separator: ", "),
            "plan `\(r.plan)`, SHA-256 `\(a.planSHA256)`",
            "time base: \(a.timeBase)",
        ]
        lines += a.definitions.keys.sorted().map { "\($0.uppercased()): \(a.definitions[$0]!)" }
        lines.append("the JSON report carries the SHA-256 of its own content: `lifeboat drills verify \(r.fileStem).json` checks it")
        return lines
    }

    /// A line of inline Markdown as HTML: escaped, `code` spans as `<code>`, emphasis marks
    /// dropped.
    static func inlineHTML(_ line: String) -> String {
        escape(line).replacingOccurrences(of: "**", with: "").replacing(/`([^`]*)`/) { "<code>\($0.1)</code>" }
    }

    /// Prometheus textfile lines for a drill.
    public static func metrics(_ r: DrillReport, lastSuccess: Date?) -> String {
        let drill = PrometheusMetrics.escape(r.drill)
        var out = "# HELP lifeboat_drill_rto_seconds Measured recovery time of the last drill.\n# TYPE lifeboat_drill_rto_seconds gauge\n"
        for s in r.sources {
            out +=
                "lifeboat_drill_rto_seconds{drill=\"\(drill)\",source=\"\(PrometheusMetrics.escape(s.source))\"} \(s.rtoSeconds.map { String($0) } ?? "NaN")\n"
        }
        out += "# HELP lifeboat_drill_rpo_seconds Measured recovery point age of the last drill.\n# TYPE lifeboat_drill_rpo_seconds gauge\n"
        for s in r.sources {
            out +=
                "lifeboat_drill_rpo_seconds{drill=\"\(drill)\",source=\"\(PrometheusMetrics.escape(s.source))\"} \(s.rpoSeconds.map { String($0) } ?? "NaN")\n"
        }
        if let lost = r.failover?.acknowledgedWritesLost {
            out +=
                "# HELP lifeboat_drill_acknowledged_writes_lost Acknowledged heartbeat writes the last failover drill's recovery lost.\n# TYPE lifeboat_drill_acknowledged_writes_lost gauge\n"
            for source in lost.keys.sorted() {
                out += "lifeboat_drill_acknowledged_writes_lost{drill=\"\(drill)\",source=\"\(PrometheusMetrics.escape(source))\"} \(lost[source]!)\n"
            }
        }
        if let started = Timestamp.parse(r.started) {
            out +=
                "# HELP lifeboat_drill_last_run_timestamp_seconds When the drill last ran, whatever its outcome (its age: time() minus this).\n# TYPE lifeboat_drill_last_run_timestamp_seconds gauge\n"
            out += "lifeboat_drill_last_run_timestamp_seconds{drill=\"\(drill)\"} \(Int(started.timeIntervalSince1970))\n"
        }
        out += "# HELP lifeboat_drill_objectives_met 1 when the last drill met every objective.\n# TYPE lifeboat_drill_objectives_met gauge\n"
        out += "lifeboat_drill_objectives_met{drill=\"\(drill)\"} \(r.objectivesMet && r.checksPassed ? 1 : 0)\n"
        if let lastSuccess {
            out +=
                "# HELP lifeboat_drill_last_success_timestamp_seconds When a drill last passed its checks and objectives.\n# TYPE lifeboat_drill_last_success_timestamp_seconds gauge\n"
            out += "lifeboat_drill_last_success_timestamp_seconds{drill=\"\(drill)\"} \(Int(lastSuccess.timeIntervalSince1970))\n"
        }
        return out
    }
}
