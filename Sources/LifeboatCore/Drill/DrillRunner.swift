import Foundation

/// Runs a drill. `restore`: for each source of the plan, restores the newest snapshot (at or
/// before `at:` when given) into the plan's scratch target, runs its checks, and measures:
/// RTO = drill start until every check has passed; RPO = drill start − the recovery point the
/// restore reached. `failover`: first a heartbeat writer writes into the live PostgreSQL and
/// Redis sources every 100 ms; then the primaries (marked `sandbox: true`) are killed with
/// SIGKILL, and each source is recovered from the repository on its standby target: RTO = kill
/// until every check has passed; RPO = kill − the newest heartbeat present after recovery
/// (or − the recovery point, for a source without heartbeats). Scratch targets are created by
/// the drill and removed afterwards (a target that already exists is refused, so a drill never
/// overwrites anything).
public struct DrillRunner: @unchecked Sendable {  // its tasks only read it (see run)
    public let plan: DrillPlan
    public let policy: Policy
    public let repository: Repository
    public let progress: ProgressLine
    /// Sources restored at once (`drill --parallel`; default: every source, at most 4).
    public var parallel = 4

    public init(plan: DrillPlan, policy: Policy, repository: Repository, progress: ProgressLine) {
        self.plan = plan
        self.policy = policy
        self.repository = repository
        self.progress = progress
    }

    public func run() async throws -> DrillReport {
        let drillStarted = Date()
        var report = DrillReport(
            drill: plan.name, kind: plan.kind.rawValue, plan: plan.file, repository: repository.location,
            host: ProcessInfo.processInfo.hostName, started: Timestamp.rfc3339(drillStarted, fractional: true),
            finished: "", rtoSeconds: nil, rpoSeconds: nil, objectivesMet: false, checksPassed: false,
            sources: [], phases: [], checks: [], error: nil)
        report.audit = audit()
        var teardowns: [() -> Void] = []
        defer { for teardown in teardowns.reversed() { teardown() } }
        for source in plan.sources {
            guard policy.sources.contains(where: { $0.name == source.name }) else {
                throw LifeboatError(
                    .invalidInput, "the plan drills source \"\(source.name)\", which policy \(policy.file) does not define",
                    fix: "sources in the policy: \(policy.sources.map(\.name).joined(separator: ", "))")
            }
            try checkScratch(source.target)
        }
        // The moment everything is measured from: the drill's start, or the kill.
        var started = drillStarted
        var acknowledged: [String: [Int64]] = [:]
        if plan.kind == .ransomware {
            // The restores count from the attack's end: the moment the operator starts recovering.
            let attack = try RansomwareAttack(repository: repository, progress: progress).run()
            report.attack = attack
            report.checks.append(
                .init(
                    source: "repository", name: "attack: every DELETE refused", passed: attack.protected,
                    detail: attack.protected
                        ? "S3 refused all \(attack.attempts) DELETE requests of the backup host's credentials; \(attack.objectsAfter) of \(attack.objectsBefore) objects remain"
                        : (attack.stoppedBecause
                            ?? "\(attack.succeeded) DELETE requests succeeded; \(attack.objectsAfter) of \(attack.objectsBefore) objects remain")))
            started = Date()
        }
        if plan.kind == .failover {
            let failover = try Failover(plan: plan, policy: policy, progress: progress)
            started = try failover.run()
            report.failover = failover.summary
            acknowledged = failover.acknowledged
        }
        // Independent sources restore at once (at most `parallel`): each one's RTO is its own,
        // and the system's is the slowest source's, not the sum.
        let runner = self  // each task reads the plan, policy and repository and writes only its own outcome
        let from = started
        let marks = acknowledged
        let outcomes = try await BoundedTasks.map(plan.sources, limit: parallel) { source in
            await runner.drill(source, started: from, acknowledged: marks[source.name])
        }
        var lost: [String: Int] = [:]
        var recovered: [String: String] = [:]
        for (source, outcome) in zip(plan.sources, outcomes) {
            if let marks = acknowledged[source.name] {
                lost[source.name] = Heartbeat.lost(marks, newest: outcome.heartbeat)
                recovered[source.name] = outcome.heartbeat.map { Timestamp.rfc3339($0.time, fractional: true) }
            }
            teardowns.append(contentsOf: outcome.teardown.map { [$0] } ?? [])
            report.phases += outcome.phases
            report.checks += outcome.checks
            report.sources.append(outcome.result)
        }
        if plan.kind == .failover {
            report.failover?.acknowledgedWritesLost = lost
            report.failover?.newestHeartbeatRecovered = recovered
        }
        progress.clear()
        let finished = Date()
        report.finished = Timestamp.rfc3339(finished, fractional: true)
        report.checksPassed = report.checks.allSatisfy(\.passed) && report.sources.allSatisfy { $0.rtoSeconds != nil }
        if report.checksPassed { report.rtoSeconds = report.sources.compactMap(\.rtoSeconds).max() }
        report.rpoSeconds = report.sources.compactMap(\.rpoSeconds).max()
        for i in report.sources.indices {
            let s = report.sources[i]
            let rtoMet = s.rtoObjectiveSeconds.map { objective in (report.rtoSeconds ?? .infinity) <= objective } ?? true
            let rpoMet = s.rpoObjectiveSeconds.map { objective in (s.rpoSeconds ?? .infinity) <= objective } ?? true
            report.sources[i].met = rtoMet && rpoMet && s.rtoSeconds != nil
        }
        report.objectivesMet = report.sources.allSatisfy(\.met) && (report.attack?.protected ?? true)
        report.history = DrillTrend.previous(of: plan.name, before: report.started, in: DrillHistory(repository: repository).all())
        return report
    }

    /// What one source's drill came to; merged into the report in plan order.
    struct SourceOutcome: @unchecked Sendable {  // the teardown closes over its ScratchTarget, used by one task at a time
        var result: DrillReport.SourceResult
        var phases: [DrillReport.Phase] = []
        var checks: [DrillReport.Check] = []
        var teardown: (() -> Void)?
        /// Failover drills: the newest of this drill's heartbeats the recovered source holds.
        var heartbeat: Heartbeat?
    }

    /// Restores one source into its scratch target, runs its checks, measures it. `acknowledged`:
    /// the marks of the heartbeats this drill wrote into it before the kill (failover drills).
    private func drill(_ source: DrillPlan.Source, started: Date, acknowledged: [Int64]?) async -> SourceOutcome {
        var phases: [DrillReport.Phase] = []
        var checks: [DrillReport.Check] = []
        var teardown: (() -> Void)?
        var recoveredHeartbeat: Heartbeat?
        let configured = policy.sources.first { $0.name == source.name }!
        let type = type(of: configured).type
        var result = DrillReport.SourceResult(source: source.name, type: type, met: false)
        let objectives = plan.objectives[source.name] ?? policy.objectives[source.name] ?? Objectives()
        result.rtoObjectiveSeconds = objectives.rto
        result.rpoObjectiveSeconds = objectives.rpo
        do {
            let target = try ScratchTarget(source: source, configured: configured, started: started)
            teardown = { target.tearDown() }
            let at = try plan.at.flatMap { try RecoveryTarget.parseTime($0).instant }
            let (restorePlan, manifest) = try RestorePlan.make(
                repository: repository, selector: nil, source: source.name,
                target: nil, at: at)
            result.snapshot = manifest.name
            let (restoreTarget, options) = try target.restoreTarget(component: manifest.component(source.name)!, repository: repository, at: plan.at)
            progress.update("drill \(plan.name): restoring \(source.name) from \(manifest.name)")
            let restoreStart = Date()
            let outcome = try await Restorer(repository: repository).run(plan: restorePlan, manifest: manifest, to: restoreTarget, options: options)
            if outcome.phases.isEmpty {
                phases.append(phase(source.name, "restore", restoreStart, started))
            } else {
                for p in outcome.phases {
                    phases.append(
                        .init(
                            source: source.name, name: p.name, start: Timestamp.rfc3339(p.started, fractional: true),
                            offsetSeconds: Self.round(p.started.timeIntervalSince(started)), seconds: Self.round(p.seconds)))
                }
            }
            var reached = outcome.recoveryPoint.flatMap(Timestamp.parse) ?? Timestamp.parse(manifest.recoveryPoint(of: source.name))
            // A heartbeat counts only when this drill wrote it: an older one (a snapshot taken
            // during an earlier drill) says less than the snapshot's own recovery point.
            if let acknowledged, let heartbeat = target.newestHeartbeat(), let first = acknowledged.first, heartbeat.mark >= first {
                reached = heartbeat.time
                recoveredHeartbeat = heartbeat
                checks.append(
                    .init(
                        source: source.name, name: "heartbeat", passed: true,
                        detail: "newest heartbeat present after recovery: \(Timestamp.rfc3339(heartbeat.time, fractional: true))"))
            }
            result.recoveryPoint = reached.map { Timestamp.rfc3339($0, fractional: true) }
            result.rpoSeconds = reached.map { Self.round(started.timeIntervalSince($0)) }
            for line in outcome.checks
            where line.contains("probe") || line.contains("keys:") || line.contains("tables present") || line.hasPrefix("check `") {
                checks.append(.init(source: source.name, name: "restore: \(line.split(separator: ":").first ?? "")", passed: true, detail: line))
            }
            let checksStart = Date()
            var allPassed = true
            for check in source.checks {
                progress.update("drill \(plan.name): checking \(source.name): \(check.name)")
                let (passed, detail) =
                    if case .heartbeatsRecovered = check {
                        target.evaluateHeartbeats(acknowledged: acknowledged)
                    } else {
                        target.evaluate(check, component: manifest.component(source.name)!)
                    }
                allPassed = allPassed && passed
                checks.append(.init(source: source.name, name: check.name, passed: passed, detail: detail))
            }
            phases.append(phase(source.name, "checks", checksStart, started))
            if allPassed { result.rtoSeconds = Self.round(Date().timeIntervalSince(started)) }
        } catch {
            checks.append(.init(source: source.name, name: "restore", passed: false, detail: (error as? LifeboatError)?.message ?? "\(error)"))
        }
        return SourceOutcome(result: result, phases: phases, checks: checks, teardown: teardown, heartbeat: recoveredHeartbeat)
    }

    private func phase(_ source: String, _ name: String, _ start: Date, _ drillStart: Date) -> DrillReport.Phase {
        DrillReport.Phase(
            source: source, name: name, start: Timestamp.rfc3339(start, fractional: true),
            offsetSeconds: Self.round(start.timeIntervalSince(drillStart)), seconds: Self.round(Date().timeIntervalSince(start)))
    }

    static func round(_ seconds: Double) -> Double { (seconds * 1000).rounded() / 1000 }

    /// A scratch directory must not exist yet (or be empty): the drill creates and removes it.
    private func checkScratch(_ target: DrillPlan.Target) throws {
        guard let directory = target.directory else { return }
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        guard contents.isEmpty else {
            throw LifeboatError(
                .invalidInput, "scratch target \(directory) exists and is not empty; a drill only restores into places it creates and removes",
                fix: "choose a new directory in the plan's target, or remove it")
        }
    }

    /// The report's audit block: who ran it, with which build, on which plan and repository,
    /// and the definitions of what it measures.
    func audit() -> DrillReport.Audit {
        let user = getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? String(geteuid())
        let failover = plan.kind == .failover
        return DrillReport.Audit(
            format: DrillReport.currentFormat, lifeboatVersion: LifeboatVersion.current,
            runBy: "\(user)@\(ProcessInfo.processInfo.hostName)", repositoryId: repository.config.id,
            planSHA256: SHA256Hasher.hex(of: Array(plan.text.utf8)), planText: plan.text,
            timeBase: failover
                ? "seconds from the kill of the primaries (failover.killed_at)"
                : plan.kind == .ransomware
                    ? "seconds from the end of the attack (attack.started + attack.seconds)" : "seconds from the drill's start (started)",
            definitions: [
                "rto": failover
                    ? "from the kill until every check of the source has passed; the drill's RTO is the slowest source's"
                    : plan.kind == .ransomware
                        ? "from the end of the attack until every check of the source has passed; the drill's RTO is the slowest source's"
                        : "from the drill's start until every check of the source has passed; the drill's RTO is the slowest source's",
                "rpo": failover
                    ? "the kill minus the newest heartbeat present after recovery (a source without heartbeats: minus its snapshot's recovery point)"
                    : plan.kind == .ransomware
                        ? "the end of the attack minus the recovery point the restore reached"
                        : "the drill's start minus the recovery point the restore reached",
            ])
    }
}
