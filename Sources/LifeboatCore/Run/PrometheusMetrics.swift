import Foundation

/// Prometheus textfile-collector output for `run`, written atomically (temp file + rename) so the
/// node exporter never reads half a file.
public enum PrometheusMetrics {
    /// The text exposition of `state` after a run at `now` that ended `succeeded`.
    public static func render(_ state: RunState, now: Date, succeeded: Bool) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ rows: [(labels: String, value: Double)]) {
            guard !rows.isEmpty else { return }
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for row in rows { out += "\(name)\(row.labels) \(format(row.value))\n" }
        }
        let sorted = state.sources.sorted { ($0.schedule, $0.source) < ($1.schedule, $1.source) }
        func labels(_ s: RunState.SourceState) -> String { "{schedule=\"\(escape(s.schedule))\",source=\"\(escape(s.source))\"}" }
        family(
            "lifeboat_backup_last_success_timestamp_seconds", "gauge", "Unix time of the last successful backup.",
            sorted.compactMap { s in s.lastSuccess.map { (labels(s), $0) } })
        family(
            "lifeboat_backup_duration_seconds", "gauge", "Capture time of the last successful backup.",
            sorted.compactMap { s in s.durationSeconds.map { (labels(s), $0) } })
        family(
            "lifeboat_backup_stored_bytes", "gauge", "Stored (compressed) bytes of the last successful backup.",
            sorted.compactMap { s in s.bytes.map { (labels(s), Double($0)) } })
        family(
            "lifeboat_backup_failures_total", "counter", "Failed backup attempts.",
            sorted.map { (labels($0), Double($0.failures)) })
        family("lifeboat_run_timestamp_seconds", "gauge", "Unix time of the last `lifeboat run`.", [("", now.timeIntervalSince1970)])
        family("lifeboat_run_success", "gauge", "1 if the last `lifeboat run` had no failure.", [("", succeeded ? 1 : 0)])
        return out
    }

    /// The text exposition of a `verify` that ended at `now`: whether it passed, how many
    /// problems and snapshots, and whether it was deep.
    public static func verify(problems: Int, snapshots: Int, deep: Bool, now: Date) -> String {
        var out = ""
        func family(_ name: String, _ help: String, _ value: Double) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n\(name){deep=\"\(deep)\"} \(format(value))\n"
        }
        family("lifeboat_verify_timestamp_seconds", "Unix time of the last `lifeboat verify`.", now.timeIntervalSince1970)
        family("lifeboat_verify_success", "1 if the last `lifeboat verify` found no integrity problem.", problems == 0 ? 1 : 0)
        family("lifeboat_verify_problems", "Integrity problems the last `lifeboat verify` found.", Double(problems))
        family("lifeboat_verify_snapshots", "Snapshots the last `lifeboat verify` proved.", Double(snapshots))
        return out
    }

    public static func write(_ text: String, to path: String) throws {
        try FileIO.writeAtomically(Array(text.utf8), to: path)
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
