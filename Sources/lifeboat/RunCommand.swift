import ArgumentParser
import Foundation
import LifeboatCore

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "For cron: back up what is due, apply retention, write metrics.",
        discussion: "Safe to call every few minutes: a schedule runs once per cron firing; a missed window is caught up once.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The policy file.")
    var policy: String

    @Option(name: .long, help: "With --rehearse: show what a run at this time (RFC 3339) would do.")
    var now: String?

    @Flag(name: .long, help: "Change nothing: show which schedules are due and what retention would forget (at --now, or now).")
    var rehearse = false

    @OptionGroup var clock: ClockOptions

    @Option(name: .long, help: "The host whose schedules this run serves, when several share a repository (default: this machine's host name).")
    var host: String?

    @Option(name: .long, help: "Write Prometheus textfile metrics here (atomically).")
    var metricsFile: String?

    func run() async throws {
        let policy = try PolicyLoader.load(path: self.policy)
        var instant = Clock.now()
        if let now {
            guard rehearse else {
                throw LifeboatError(
                    .invalidInput, "--now would stamp real snapshots with another time and apply retention from it",
                    fix: "add --rehearse to see what a run at \(now) would do (it changes nothing)")
            }
            guard let parsed = Timestamp.parse(now) else {
                throw LifeboatError(.invalidInput, "--now \(now) is not an RFC 3339 time", fix: "write e.g. 2026-11-22T02:00:00Z")
            }
            instant = parsed
        }
        let repository = try global.openRepository(policy: policy)
        var runner = PolicyRunner(policy: policy, repository: repository, progress: global.progress)
        if let host { runner.host = try HostName.validated(host) }
        let report =
            rehearse
            ? try runner.rehearse(clock: try clock.guardAt(instant))
            : try await runner.run(clock: try clock.guardAt(instant), metricsFile: metricsFile)
        if global.json {
            try Console.json(report)
        } else if !global.quiet {
            for o in report.schedules where o.status != "not-due" || global.verbose {
                switch o.status {
                case "ok": print("\(o.schedule): \(o.snapshot ?? "")")
                case "due": print("\(o.schedule): due (slot \(o.slot ?? ""))")
                case "failed": Console.note("\(o.schedule): FAILED: \(o.error ?? "")")
                default: print("\(o.schedule): not due (last served \(o.slot ?? "never"))")
                }
            }
            for o in report.schedules { if let w = o.warning { Console.note("\(o.schedule): warning: \(w)") } }
            if report.rehearsal == true {
                print("rehearsal at \(report.now): retention would forget \(report.forgotten.count) snapshot(s); nothing was changed")
            }
            if !report.forgotten.isEmpty && report.rehearsal != true {
                print("retention: forgot \(report.forgotten.count), pruned \(ProgressLine.bytes(report.prunedBytes))")
            }
            if let e = report.retentionError { Console.note("retention: FAILED: \(e)") }
            if let e = report.pruneDeferred { Console.note("prune: left to a later run: \(e)") }
            if let e = report.retentionSkipped { Console.note("retention: skipped: \(e)") }
            if let renewed = report.locksRenewed, !renewed.isEmpty {
                print("object lock: extended the locks of \(renewed.count) snapshot(s) retention keeps: \(renewed.joined(separator: ", "))")
            }
            if let e = report.notifyError { Console.note("notify: \(e)") }
        }
        if report.rehearsal == true, !report.ok { throw ExitCode(LifeboatError.Code.invalidInput.exitCode) }
        if !report.ok { throw ExitCode(report.exitCode) }
    }
}
