import Foundation

/// The trend section of a drill report: the plan's earlier drills (`DrillReport.history`) and
/// this one, per source, as a table (Markdown and HTML) and as small SVG sparklines (HTML), with
/// the change against the previous drill and against the objective.
enum DrillTrendRenderer {
    typealias Figures = DrillTrendPoint.Figures

    /// The rows, oldest first, ending with this drill.
    static func points(_ r: DrillReport) -> [DrillTrendPoint] {
        (r.history ?? []) + [DrillTrendPoint(r)]
    }

    static func verdict(_ p: DrillTrendPoint) -> String {
        DrillReport.verdict(checksPassed: p.checksPassed, objectivesMet: p.objectivesMet)
    }

    /// One line per source: this drill's RTO and RPO, against the previous drill and the objective.
    static func summaryLines(_ r: DrillReport) -> [String] {
        guard let previous = r.history?.last else {
            return ["This is the first drill of plan \(r.drill) in the repository's drill history."]
        }
        return r.sources.map { s in
            let before = previous.sources[s.source]
            func figure(_ name: String, _ value: Double?, _ was: Double?, _ objective: Double?) -> String {
                let notes = [DrillTrend.change(value, from: was).map { "\($0) against the previous drill" }, DrillTrend.share(value, of: objective)]
                    .compactMap { $0 }
                return "\(name) \(DrillReportRenderer.seconds(value))" + (notes.isEmpty ? "" : " (\(notes.joined(separator: "; ")))")
            }
            return "\(s.source): "
                + figure("RTO", s.rtoSeconds, before?.rtoSeconds, s.rtoObjectiveSeconds) + ", "
                + figure("RPO", s.rpoSeconds, before?.rpoSeconds, s.rpoObjectiveSeconds)
        }
    }

    /// A plan's first drill has no trend yet: one sentence instead of a table of one row.
    static func firstDrill(_ r: DrillReport) -> String? {
        (r.history ?? []).isEmpty
            ? "This is the first drill of plan \(r.drill) in the repository's drill history; its trend starts with the next one." : nil
    }

    static func markdown(_ r: DrillReport) -> String {
        if let first = firstDrill(r) { return "\n## Trend\n\n\(first)\n" }
        let rows = points(r)
        let sources = r.sources.map(\.source)
        var md = "\n## Trend\n\nThe last \(rows.count - 1) drill\(rows.count == 2 ? "" : "s") of this plan before this one, and this one (UTC).\n\n"
        md += "| started | result | " + sources.map { "\($0) RTO | \($0) RPO" }.joined(separator: " | ") + " |\n"
        md += "|---|---|" + String(repeating: "---|---|", count: sources.count) + "\n"
        for (i, p) in rows.enumerated() {
            let current = i == rows.count - 1
            let started = current ? "**\(p.started) (this drill)**" : p.started
            let cells = sources.map { name in
                let f = p.sources[name]
                return "\(DrillReportRenderer.seconds(f?.rtoSeconds)) | \(DrillReportRenderer.seconds(f?.rpoSeconds))"
            }
            md += "| \(started) | \(verdict(p)) | " + cells.joined(separator: " | ") + " |\n"
        }
        md += "\n" + summaryLines(r).map { "- \($0)\n" }.joined()
        return md
    }

    static func html(_ r: DrillReport) -> String {
        if let first = firstDrill(r) { return "<h2>Trend</h2>\n<p>\(DrillReportRenderer.escape(first))</p>\n" }
        let rows = points(r)
        var out = "<h2>Trend</h2>\n<p>The last \(rows.count - 1) drill\(rows.count == 2 ? "" : "s") of this plan before this one, and this one.</p>\n"
        out += "<table><tr><th>source</th><th>RTO</th><th>RPO</th></tr>\n"
        for s in r.sources {
            let rto = rows.map { $0.sources[s.source]?.rtoSeconds }
            let rpo = rows.map { $0.sources[s.source]?.rpoSeconds }
            out += "<tr><td>\(DrillReportRenderer.escape(s.source))</td>"
            out += "<td>\(sparkline(rto, objective: s.rtoObjectiveSeconds, label: "\(s.source) RTO"))</td>"
            out += "<td>\(sparkline(rpo, objective: s.rpoObjectiveSeconds, label: "\(s.source) RPO"))</td></tr>\n"
        }
        out += "</table>\n<ul>" + summaryLines(r).map { "<li>\(DrillReportRenderer.inlineHTML($0))</li>" }.joined() + "</ul>\n"
        out += "<details><summary>The drills, in numbers</summary><table><tr><th>started</th><th>result</th>"
        out += r.sources.map { "<th>\(DrillReportRenderer.escape($0.source)) RTO</th><th>\(DrillReportRenderer.escape($0.source)) RPO</th>" }.joined()
        out += "</tr>\n"
        for p in rows {
            out += "<tr><td>\(DrillReportRenderer.escape(p.started))</td><td>\(verdict(p))</td>"
            out += r.sources.map {
                "<td class=\"n\">\(DrillReportRenderer.seconds(p.sources[$0.source]?.rtoSeconds))</td><td class=\"n\">\(DrillReportRenderer.seconds(p.sources[$0.source]?.rpoSeconds))</td>"
            }.joined()
            out += "</tr>\n"
        }
        return out + "</table></details>\n"
    }

    /// A 140×32 sparkline of `values` (oldest first, nil: not measured), the last point marked
    /// and labelled; the objective a dashed line when it is on the scale, grey when the last
    /// value meets it and red when it misses it.
    static func sparkline(_ values: [Double?], objective: Double?, label: String) -> String {
        let width = 140.0
        let height = 32.0
        let pad = 3.0
        let measured = values.compactMap { $0 }
        let last = values.last ?? nil
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width + 70))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"11\" role=\"img\"><title>\(DrillReportRenderer.escape(label)): \(measured.map { DrillReportRenderer.seconds($0) }.joined(separator: ", "))</title>"
        guard let top = measured.max() else {
            return svg + "<text x=\"0\" y=\"20\" fill=\"#64748b\">not measured</text></svg>"
        }
        // The scale covers the values, and the objective when it is no more than 3× them.
        let scaleTop = max(top * 1.1, objective.map { $0 <= top * 3 ? $0 * 1.05 : 0 } ?? 0, 0.001)
        func x(_ i: Int) -> Double { values.count < 2 ? width / 2 : pad + (width - 2 * pad) * Double(i) / Double(values.count - 1) }
        func y(_ v: Double) -> Double { height - pad - (height - 2 * pad) * v / scaleTop }
        let missed = objective.map { objective in (last ?? .infinity) > objective } ?? false
        if let objective, objective <= scaleTop {
            svg +=
                "<line x1=\"0\" x2=\"\(width)\" y1=\"\(String(format: "%.1f", y(objective)))\" y2=\"\(String(format: "%.1f", y(objective)))\" stroke=\"\(missed ? "#dc2626" : "#94a3b8")\" stroke-dasharray=\"3 2\"/>"
        }
        let path = values.enumerated().compactMap { i, v in v.map { String(format: "%.1f,%.1f", x(i), y($0)) } }.joined(separator: " ")
        svg += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"#3b82f6\" stroke-width=\"1.5\"/>"
        if let last {
            svg +=
                "<circle cx=\"\(String(format: "%.1f", x(values.count - 1)))\" cy=\"\(String(format: "%.1f", y(last)))\" r=\"2.5\" fill=\"\(missed ? "#dc2626" : "#0f172a")\"/>"
            svg += "<text x=\"\(width + 6)\" y=\"20\" fill=\"\(missed ? "#b91c1c" : "#0f172a")\">\(DrillReportRenderer.seconds(last))</text>"
        } else {
            svg += "<text x=\"\(width + 6)\" y=\"20\" fill=\"#b91c1c\">—</text>"
        }
        return svg + "</svg>"
    }
}
