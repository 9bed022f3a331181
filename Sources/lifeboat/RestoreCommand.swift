import ArgumentParser
import LifeboatCore

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore", abstract: "Restore one source of a snapshot into a target.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Snapshot name, id prefix or `latest`.")
    var snapshot: String

    @Option(name: .long, help: "The source to restore (optional when the snapshot has one).")
    var source: String?

    @Option(name: .long, help: "Target directory (files sources; for redis, a scratch server's directory with --port). Must be new or empty unless --force.")
    var to: String?

    @Option(name: .customLong("to-config"), help: "Redis: the target server's redis.conf (running or not).")
    var toConfig: String?

    @Option(name: .long, help: "Redis: port of a scratch server started in --to DIR.")
    var port: Int?

    @Flag(name: .long, help: "Replace a non-empty target; its content is moved aside, not deleted.")
    var force = false

    @Flag(name: .long, help: "Show the plan and change nothing.")
    var dryRun = false

    func run() async throws {
        let repository = try global.openRepository()
        let (plan, manifest) = try RestorePlan.make(repository: repository, selector: SnapshotSelector(snapshot),
                                                    source: source, target: toConfig ?? to)
        if dryRun {
            if global.json {
                try Console.json(plan)
            } else {
                print("would restore \(plan.source) (\(plan.type)) from \(plan.snapshot) [\(plan.id.prefix(8))]")
                print("  recovery point \(plan.recoveryPoint)")
                print("  read \(ProgressLine.bytes(plan.storedBytes)) from \(plan.file), write \(plan.entries) entries, \(ProgressLine.bytes(plan.contentBytes))")
                print("  into \(plan.target ?? "(no target given)")")
            }
            return
        }
        let outcome = try await Restorer(repository: repository)
            .run(plan: plan, manifest: manifest, request: RestoreRequest(directory: to, redisConfig: toConfig, port: port, force: force,
                                                                     progress: global.progress))
        if global.json {
            struct Result: Encodable {
                var plan: RestorePlan
                var outcome: RestoreOutcome
            }
            try Console.json(Result(plan: plan, outcome: outcome))
        } else if !global.quiet {
            print("restored \(plan.source) from \(plan.snapshot): \(outcome.entries) entries, \(ProgressLine.bytes(outcome.bytes)) into \(outcome.target)")
            if let moved = outcome.previousMovedTo { print("previous content moved to \(moved)") }
            for check in outcome.checks { print("  \(check)") }
        }
    }
}
