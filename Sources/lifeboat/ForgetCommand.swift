import ArgumentParser
import Foundation
import LifeboatCore

struct ForgetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget",
        abstract: "Remove the snapshots retention drops, or those named (then `prune`).",
        discussion: "Removes their manifests; `prune` (or --prune) then removes the data that\nno snapshot references.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Snapshots to forget (names or id prefixes) instead of applying the policy's retention.")
    var snapshots: [String] = []

    @Option(name: .long, help: "The policy file (its retention, unless snapshots are named; its repository).")
    var policy: String?

    @Option(
        name: .long,
        help: "What retention groups snapshots by: host,source,schedule (default), or a part of it with schedule (rules are per schedule).")
    var groupBy = "host,source,schedule"

    @Flag(name: .long, help: "Show what would be forgotten; change nothing.")
    var dryRun = false

    @Flag(name: .long, help: "Also prune the data nothing references any more.")
    var prune = false

    @OptionGroup var clock: ClockOptions

    @OptionGroup var admin: AdminCredentialsOption

    func run() async throws {
        guard policy != nil || !snapshots.isEmpty else {
            throw LifeboatError(
                .invalidInput, "forget needs --policy (to apply its retention) or the snapshots to forget",
                fix: "lifeboat forget --policy F, or lifeboat forget --repo R SNAP…")
        }
        let policy = try self.policy.map { try PolicyLoader.load(path: $0) }
        let grouping = try Self.grouping(groupBy)
        let repository = try admin.openRepository(global, policy: policy)
        let clock = try self.clock.guardAt()
        let command = policy.map { "lifeboat forget --policy \($0.file)" } ?? "lifeboat forget"
        if !dryRun { try repository.requireDeletion(by: command + (prune ? " --prune" : "")) }
        // Forgetting removes manifests only, beside other writers; with --prune it needs the
        // repository to itself.
        let (groups, forgotten, pruned) = try RepositoryLock.with(repository, prune ? .exclusive : .shared, command: command) { _ in
            let all = repository.loadSnapshots().snapshots
            var groups: [ForgetPlan.Group] = []
            var forget: [String]
            if snapshots.isEmpty, let policy {
                try clock.check(all, command: command)
                let plan = ForgetPlan(policy: policy, snapshots: all, now: clock.now, grouping: grouping)
                try clock.check(plan, command: command)
                groups = plan.groups
                forget = plan.forget
            } else {
                var ids: [String] = []
                for text in snapshots {
                    let id = try SnapshotSelector(text).resolve(in: all).id
                    if !ids.contains(id) { ids.append(id) }
                }
                forget = ids
            }
            if !dryRun { try repository.forget(ids: forget) }
            return (groups, forget, prune ? try Pruner(repository: repository).run(dryRun: dryRun, clock: clock) : nil)
        }
        if global.json {
            struct Output: Encodable {
                var dry_run: Bool
                var groups: [ForgetPlan.Group]
                var forgotten: [String]
                var prune: Pruner.Report?
            }
            try Console.json(Output(dry_run: dryRun, groups: groups, forgotten: forgotten, prune: pruned))
            return
        }
        guard !global.quiet else { return }
        for group in groups {
            print("\(group.host.map { "\($0) / " } ?? "")\(group.source) / \(group.schedule): keep \(group.keep.count), remove \(group.remove.count)")
            if global.verbose || dryRun {
                for e in group.keep { print("  keep    \(e.name)  \((e.reasons ?? []).joined(separator: ", "))") }
                for e in group.remove { print("  remove  \(e.name)") }
            }
        }
        print("\(dryRun ? "would forget" : "forgot") \(forgotten.count) snapshot\(forgotten.count == 1 ? "" : "s")")
        if let pruned {
            print(
                "\(dryRun ? "would prune" : "pruned") \(pruned.removed.count) item\(pruned.removed.count == 1 ? "" : "s"), \(ProgressLine.bytes(pruned.bytes))"
            )
            if let note = pruned.heldNote { print(note) }
        }
    }

    /// `host,source,schedule` and its subsets (schedule is always part of it: rules are per schedule).
    static func grouping(_ text: String) throws -> ForgetPlan.Grouping {
        let parts = Set(text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
        let known: Set<String> = ["host", "source", "schedule"]
        guard parts.isSubset(of: known), !parts.isEmpty else {
            throw LifeboatError(
                .invalidInput, "--group-by \(text): unknown key \(parts.subtracting(known).sorted().joined(separator: ", "))",
                fix: "use host, source and schedule, comma-separated (default host,source,schedule)")
        }
        return ForgetPlan.Grouping(host: parts.contains("host"), source: parts.contains("source"))
    }
}
