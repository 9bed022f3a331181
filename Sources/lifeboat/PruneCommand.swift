import ArgumentParser
import LifeboatCore

struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Remove data no snapshot references (forgotten snapshots, interrupted runs).")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Show what would be removed; change nothing.")
    var dryRun = false

    @OptionGroup var clock: ClockOptions

    @Flag(name: .long, help: "Allow removing all data when no snapshot is left.")
    var all = false

    func run() async throws {
        let repository = try global.openRepository()
        let clock = try self.clock.guardAt()
        let report = try RepositoryLock.with(repository, .exclusive, command: "lifeboat prune") { _ in
            try Pruner(repository: repository).run(dryRun: dryRun, clock: clock, all: all)
        }
        if global.json {
            try Console.json(report)
        } else if !global.quiet {
            for path in report.removed where global.verbose || dryRun { print("  \(path)") }
            print("\(dryRun ? "would remove" : "removed") \(report.removed.count) item\(report.removed.count == 1 ? "" : "s"), \(ProgressLine.bytes(report.bytes))")
        }
    }
}
