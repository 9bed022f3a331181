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

    /// The text exposition of an async WAL spool (`wal status --metrics-file`, and the pusher
    /// after every batch): the oldest queued file's spool time, not its age, so a file left
    /// stale by a dead pusher still ages in Prometheus (`time() - …`).
    public static func walSpool(_ status: WALSpoolStatus) -> String {
        var out = ""
        func family(_ name: String, _ help: String, _ value: Double?) {
            guard let value else { return }
            out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n\(name){spool=\"\(escape(status.spool))\"} \(format(value))\n"
        }
        family("lifeboat_wal_spool_files", "WAL files waiting in the async spool.", Double(status.queued.count))
        family("lifeboat_wal_spool_bytes", "Bytes waiting in the async spool.", Double(status.queuedBytes))
        family(
            "lifeboat_wal_spool_oldest_timestamp_seconds", "Unix time the oldest waiting WAL file was spooled (absent when none waits).",
            status.oldestSpooled?.timeIntervalSince1970)
        family(
            "lifeboat_wal_pushed_timestamp_seconds", "Unix time the pusher last stored a WAL file in the repository.",
            status.pusher?.lastPushedAt?.timeIntervalSince1970)
        family("lifeboat_wal_push_failing", "1 while the pusher's last attempt to store a WAL file failed.", status.pusher?.failure == nil ? 0 : 1)
        family("lifeboat_wal_status_timestamp_seconds", "Unix time these WAL spool metrics were written.", status.now.timeIntervalSince1970)
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
