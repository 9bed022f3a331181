import ArgumentParser
import LifeboatCore

struct ForgetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget", abstract: "Apply the policy's retention: remove the snapshots it drops (then `prune`).")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The policy file.")
    var policy: String

    @Flag(name: .long, help: "Show what would be forgotten; change nothing.")
    var dryRun = false

    @Flag(name: .long, help: "Also prune the data nothing references any more.")
    var prune = false

    @OptionGroup var clock: ClockOptions

    func run() async throws {
        let policy = try PolicyLoader.load(path: self.policy)
        let repository = try global.openRepository(policy: policy)
        // Forgetting removes manifests only, beside other writers; with --prune it needs the
        // repository to itself.
        let clock = try self.clock.guardAt()
        let (plan, pruned) = try RepositoryLock.with(repository, prune ? .exclusive : .shared, command: "lifeboat forget") { _ in
            let snapshots = repository.loadSnapshots().snapshots
            try clock.check(snapshots, command: "lifeboat forget --policy \(policy.file)")
            let plan = ForgetPlan(policy: policy, snapshots: snapshots, now: clock.now)
            try clock.check(plan, command: "lifeboat forget --policy \(policy.file)")
            if !dryRun { try repository.forget(ids: plan.forget) }
            return (plan, prune ? try Pruner(repository: repository).run(dryRun: dryRun, clock: clock) : nil)
        }
        if global.json {
            struct Output: Encodable {
                var dry_run: Bool
                var groups: [ForgetPlan.Group]
                var forgotten: [String]
                var prune: Pruner.Report?
            }
            try Console.json(Output(dry_run: dryRun, groups: plan.groups, forgotten: plan.forget, prune: pruned))
            return
        }
        guard !global.quiet else { return }
        for group in plan.groups {
            print("\(group.source) / \(group.schedule): keep \(group.keep.count), remove \(group.remove.count)")
            if global.verbose || dryRun {
                for e in group.keep { print("  keep    \(e.name)  \((e.reasons ?? []).joined(separator: ", "))") }
                for e in group.remove { print("  remove  \(e.name)") }
            }
        }
        print("\(dryRun ? "would forget" : "forgot") \(plan.forget.count) snapshot\(plan.forget.count == 1 ? "" : "s")")
        if let pruned { print("\(dryRun ? "would prune" : "pruned") \(pruned.removed.count) item\(pruned.removed.count == 1 ? "" : "s"), \(ProgressLine.bytes(pruned.bytes))") }
    }
}
