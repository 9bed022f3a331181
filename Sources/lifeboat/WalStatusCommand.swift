import ArgumentParser
import Foundation
import LifeboatCore

/// `lifeboat wal status`: the async spool's queue and its pusher.
struct WalStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show an async WAL spool: what waits, since when, and its pusher.",
        usage: "lifeboat wal status (--spool DIR | --pgdata DIR) [<options>]",
        discussion: """
            The oldest waiting file's age is how much WAL a lost server would take with it
            beyond the repository: PostgreSQL's live RPO with --async.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The spool directory.")
    var spool: String?

    @Option(name: .long, help: "The server's data directory (its spool is pg_wal/lifeboat-spool).")
    var pgdata: String?

    @Option(name: .customLong("metrics-file"), help: "Also write Prometheus textfile metrics of the spool here (atomically).")
    var metricsFile: String?

    func validate() throws {
        guard (spool == nil) != (pgdata == nil) else { throw ValidationError("give one of --spool DIR or --pgdata DIR") }
    }

    func run() async throws {
        let directory = spool ?? (pgdata! + "/pg_wal/" + WALSpool.folder)
        guard FileIO.exists(directory) else {
            throw LifeboatError(
                .invalidInput, "\(FileIO.absolute(directory)) is not a WAL spool (it does not exist)",
                fix: "a spool is made by the first `wal push --async`; give the --spool that archive_command uses")
        }
        let status = WALSpoolStatus(spool: WALSpool(directory: directory), now: Date())
        if let metricsFile { try PrometheusMetrics.write(PrometheusMetrics.walSpool(status), to: metricsFile) }
        if global.json { return try Console.json(status) }
        print("spool \(status.spool)")
        if let oldest = status.queued.first {
            let age = String(format: "%.1f", status.oldestAgeSeconds)
            print(
                "waiting: \(status.queued.count) file\(status.queued.count == 1 ? "" : "s") (\(ProgressLine.bytes(status.queuedBytes)) of \(ProgressLine.bytes(status.limitBytes))), oldest \(oldest.name) spooled \(age) s ago"
            )
        } else {
            print("waiting: nothing")
        }
        if status.pushedAhead > 0 { print("stored ahead of archive_command: \(status.pushedAhead)") }
        let pusher = status.pusher
        var line = "pusher: " + (status.pusherRunning ? "running" + (pusher.map { " (pid \($0.pid))" } ?? "") : "not running")
        if let pusher, let last = pusher.lastPushed, let at = pusher.lastPushedAt {
            line += "; last stored \(last) at \(Timestamp.rfc3339(at))"
        }
        print(line)
        if let reason = status.linkUnsafe { print("--link copies: \(reason)") }
        if let failure = pusher?.failure {
            print(
                "failing: \(failure.name), \(failure.attempts) attempt\(failure.attempts == 1 ? "" : "s") since \(Timestamp.rfc3339(failure.since)): \(failure.message)"
            )
        }
    }
}
