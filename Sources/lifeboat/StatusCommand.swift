import ArgumentParser
import Foundation
import LifeboatCore

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Check the recovery point objectives now, between drills.",
        usage: "lifeboat status --policy F [--host H] [<options>]",
        discussion: """
            Per source: the newest snapshot (physical PostgreSQL: the newest archived WAL)
            and its age against the policy's RPO. Per schedule: the last run, its error,
            the next firing. Per drill plan: the last drill and its age. Exit 4 when a
            source's age exceeds its RPO now, so a monitoring check can call it.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The policy file.")
    var policy: String

    @Option(name: .long, help: "Whose schedules (`run --host`; default: this machine).")
    var host: String?

    func run() async throws {
        let loaded = try PolicyLoader.load(path: policy)
        let repository = try global.openRepository(policy: loaded)
        let status = try PolicyStatus.measure(
            policy: loaded, repository: repository, host: try host.map(HostName.validated) ?? ProcessInfo.processInfo.hostName,
            now: Clock.now())
        if global.json {
            try Console.json(status)
        } else {
            func age(_ seconds: Double?) -> String {
                guard let seconds else { return "never" }
                if seconds < 120 { return String(format: "%.0f s", seconds) }
                if seconds < 7200 { return String(format: "%.0f min", seconds / 60) }
                if seconds < 172_800 { return String(format: "%.1f h", seconds / 3600) }
                return String(format: "%.1f d", seconds / 86400)
            }
            print(
                "\(status.met ? "ok" : "OBJECTIVE MISSED"): \(status.repository), \(ProgressLine.bytes(status.storedBytes)) stored, at \(status.now)")
            for s in status.sources {
                let objective = s.rpoObjectiveSeconds.map { " (RPO \(age($0)): \(s.met == true ? "met" : "MISSED"))" } ?? " (no RPO objective)"
                let from = s.walArchivedAt != nil ? "WAL archived \(s.walArchivedAt!)" : (s.newestSnapshot ?? "no snapshot")
                print("  \(s.source) (\(s.type)): \(age(s.ageSeconds)) old, \(from)\(objective)")
            }
            for s in status.schedules {
                print(
                    "  schedule \(s.schedule) (\(s.cron)): last run \(s.lastSuccess ?? "never"), next \(s.nextFiring ?? "—")"
                        + (s.lastError.map { ", last error: \($0)" } ?? ""))
            }
            for d in status.drills {
                print("  drill \(d.drill): \(age(d.ageSeconds)) ago, \(d.checksPassed && d.objectivesMet ? "passed" : "FAILED")")
            }
        }
        if !status.met { throw ExitCode(4) }
    }
}
