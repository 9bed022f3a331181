import ArgumentParser
import Foundation
import LifeboatCore

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "For cron: back up every schedule that is due, apply retention, write metrics.",
        discussion: "Safe to call every few minutes: a schedule runs once per cron firing; a missed window is caught up once.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The policy file.")
    var policy: String

    @Option(name: .long, help: "Pretend it is this time (RFC 3339); snapshots are stamped with it. For tests and dry rehearsals.")
    var now: String?

    @Option(name: .long, help: "Write Prometheus textfile metrics here (atomically).")
    var metricsFile: String?

    func run() async throws {
        let policy = try PolicyLoader.load(path: self.policy)
        var clock = Date()
        if let now {
            guard let parsed = Timestamp.parse(now) else {
                throw LifeboatError(.invalidInput, "--now \(now) is not an RFC 3339 time", fix: "write e.g. 2026-11-22T02:00:00Z")
            }
            clock = parsed
        }
        let repository = try global.openRepository(policy: policy)
        let report = try await PolicyRunner(policy: policy, repository: repository, progress: global.progress)
            .run(now: clock, simulated: now != nil, metricsFile: metricsFile)
        if global.json {
            try Console.json(report)
        } else if !global.quiet {
            for o in report.schedules where o.status != "not-due" || global.verbose {
                switch o.status {
                case "ok": print("\(o.schedule): \(o.snapshot ?? "")")
                case "failed": Console.note("\(o.schedule): FAILED: \(o.error ?? "")")
                default: print("\(o.schedule): not due (last served \(o.slot ?? "never"))")
                }
            }
            if !report.forgotten.isEmpty { print("retention: forgot \(report.forgotten.count), pruned \(ProgressLine.bytes(report.prunedBytes))") }
            if let e = report.retentionError { Console.note("retention: FAILED: \(e)") }
            if let e = report.notifyError { Console.note("notify: \(e)") }
        }
        if !report.ok { throw ExitCode(LifeboatError.Code.operationFailed.exitCode) }
    }
}
