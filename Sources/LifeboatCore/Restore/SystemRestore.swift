import Foundation

/// Whole-system point-in-time restore (`restore --at TIME --policy F --plan TARGETS.yaml`):
/// every source of the plan is restored into its target as close to TIME as the repository
/// allows — a physical PostgreSQL source exactly (base backup + WAL replayed to TIME), the others
/// from their newest snapshot at or before TIME — and the recovery point reached and its skew
/// from TIME are reported per source. The plan has a drill plan's shape (`sources:` with
/// `target:`); its checks are not run and its targets are kept.
public struct SystemRestore: Sendable {
    public let plan: DrillPlan
    public let policy: Policy
    public let repository: Repository
    public let at: String
    public let progress: ProgressLine

    public init(plan: DrillPlan, policy: Policy, repository: Repository, at: String, progress: ProgressLine) {
        self.plan = plan
        self.policy = policy
        self.repository = repository
        self.at = at
        self.progress = progress
    }

    /// One source of the plan, planned and (unless a dry run) restored.
    public struct SourceResult: Codable, Sendable {
        public var source: String
        public var type: String
        public var snapshot: String
        public var target: String?
        public var storedBytes: Int64
        public var wal: RestorePlan.WALRange?
        /// The snapshot's recovery point, or for PostgreSQL physical the point replay reached.
        public var recoveryPoint: String?
        /// TIME − recovery point, in seconds (0 for an exact PostgreSQL recovery).
        public var skewSeconds: Double?
        /// How long the source's last drill took to pass its checks, from the drill history.
        public var pastDrillSeconds: Double?
        /// How long this restore of the source took (not for a dry run).
        public var restoreSeconds: Double?
        enum CodingKeys: String, CodingKey {
            case source, type, snapshot, target, wal
            case restoreSeconds = "restore_seconds"
            case storedBytes = "stored_bytes"
            case recoveryPoint = "recovery_point"
            case skewSeconds = "skew_seconds"
            case pastDrillSeconds = "past_drill_seconds"
        }
    }

    /// Sources restored at once (`restore --plan --parallel`; default: every source, at most 4):
    /// each source's restore takes its own time, and the system is back when the slowest is.
    public var parallel = 4

    public func run(dryRun: Bool) async throws -> [SourceResult] {
        let time = try RecoveryTarget.parseTime(at).instant
        let history = DrillHistory(repository: repository).all()
        for source in plan.sources where !policy.sources.contains(where: { $0.name == source.name }) {
            throw LifeboatError(
                .invalidInput, "the plan restores source \"\(source.name)\", which policy \(policy.file) does not define",
                fix: "sources in the policy: \(policy.sources.map(\.name).joined(separator: ", "))")
        }
        let restore = self
        let results = try await BoundedTasks.map(plan.sources, limit: dryRun ? 1 : parallel) { source in
            try await restore.restore(source, time: time, history: history, dryRun: dryRun)
        }
        progress.clear()
        return results
    }

    /// Plans one source and (unless a dry run) restores it.
    private func restore(_ source: DrillPlan.Source, time: Date?, history: [DrillReport], dryRun: Bool) async throws -> SourceResult {
        let configured = policy.sources.first { $0.name == source.name }!
        let target = try ScratchTarget(source: source, configured: configured, started: Date())
        var (restorePlan, manifest) = try RestorePlan.make(repository: repository, selector: nil, source: source.name, target: nil, at: time)
        let component = manifest.component(source.name)!
        var (restoreTarget, options) = try target.restoreTarget(component: component, repository: repository, at: at)
        options.progress = progress
        if case .dataDirectory(_, let recovery, _) = restoreTarget {
            try restorePlan.planRecovery(recovery, component: component, archive: WALArchive(repository: repository))
        }
        var result = SourceResult(
            source: source.name, type: component.type, snapshot: manifest.name,
            target: source.target.directory ?? source.target.database ?? source.target.url,
            storedBytes: component.bytes, wal: restorePlan.wal, recoveryPoint: manifest.recoveryPoint(of: source.name),
            pastDrillSeconds: history.last { report in report.sources.contains { $0.source == source.name && $0.rtoSeconds != nil } }?
                .sources.first { $0.source == source.name }?.rtoSeconds)
        if !dryRun {
            progress.update("restoring \(source.name) from \(manifest.name)")
            let started = Date()
            let outcome = try await Restorer(repository: repository).run(plan: restorePlan, manifest: manifest, to: restoreTarget, options: options)
            if let reached = outcome.recoveryPoint { result.recoveryPoint = reached }
            result.restoreSeconds = (Date().timeIntervalSince(started) * 1000).rounded() / 1000
        }
        if let time, let point = result.recoveryPoint.flatMap(Timestamp.parse) {
            result.skewSeconds = ((time.timeIntervalSince(point)) * 1000).rounded() / 1000
        }
        return result
    }
}
