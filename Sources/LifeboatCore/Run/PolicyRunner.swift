import Foundation

/// `lifeboat run`: what cron calls every few minutes. Under one lock for the whole run, it backs
/// up every schedule whose cron fired since the slot it last served (a missed window is caught up
/// once, not once per slot; a schedule never run is due at once), keeps going when one fails,
/// then applies retention and prunes, saves its state, and writes metrics.
public struct PolicyRunner {
    public let policy: Policy
    public let repository: Repository
    public let progress: ProgressLine

    public init(policy: Policy, repository: Repository, progress: ProgressLine) {
        self.policy = policy
        self.repository = repository
        self.progress = progress
    }

    /// Runs at `now` (a simulated clock when given by `--now`).
    public func run(now: Date, simulated: Bool, metricsFile: String?) async throws -> RunReport {
        let lock = try RepositoryLock(repository: repository, command: "lifeboat run --policy \(policy.file)")
        var state = try RunState.load(repository)
        var outcomes: [RunReport.Outcome] = []
        for schedule in policy.schedules {
            guard let slot = schedule.cron.previousFiring(atOrBefore: now, in: policy.timeZone) else {
                outcomes.append(.init(schedule: schedule.name, status: "not-due", slot: nil, snapshot: nil, error: nil))
                continue
            }
            var scheduleState = state.schedules[schedule.name] ?? .init()
            if let last = scheduleState.lastSlot.flatMap(Timestamp.parse), last >= slot {
                outcomes.append(.init(schedule: schedule.name, status: "not-due", slot: scheduleState.lastSlot, snapshot: nil, error: nil))
                continue
            }
            let slotText = Timestamp.rfc3339(slot)
            scheduleState.lastAttempt = Timestamp.rfc3339(now)
            let sources = policy.sources(of: schedule)
            do {
                let result = try await BackupRunner(repository: repository, progress: progress)
                    .run(sources: sources, schedule: schedule.name, compression: schedule.compression ?? policy.compression,
                         policyPath: policy.file, command: "lifeboat run", lock: lock, started: simulated ? now : Date())
                scheduleState.lastSlot = slotText
                scheduleState.lastSuccess = result.manifest.finished
                scheduleState.lastError = nil
                for component in result.manifest.components {
                    let i = state.source(component.source, schedule.name)
                    state.sources[i].lastSuccess = (Timestamp.parse(result.manifest.finished) ?? now).timeIntervalSince1970
                    if case .double(let seconds) = component.metadata["capture_seconds"] { state.sources[i].durationSeconds = seconds }
                    state.sources[i].bytes = component.bytes
                }
                outcomes.append(.init(schedule: schedule.name, status: "ok", slot: slotText, snapshot: result.manifest.name, error: nil))
            } catch {
                let message = (error as? LifeboatError)?.description ?? "\(error)"
                scheduleState.lastError = message
                for source in sources { state.sources[state.source(source.name, schedule.name)].failures += 1 }
                outcomes.append(.init(schedule: schedule.name, status: "failed", slot: slotText, snapshot: nil, error: message))
            }
            state.schedules[schedule.name] = scheduleState
        }

        var forgotten: [String] = []
        var pruned: Int64 = 0
        var retentionError: String?
        do {
            let plan = ForgetPlan(policy: policy, snapshots: repository.loadSnapshots().snapshots)
            try repository.forget(ids: plan.forget)
            forgotten = plan.forget
            pruned = try Pruner(repository: repository).run(dryRun: false).bytes
        } catch {
            retentionError = (error as? LifeboatError)?.description ?? "\(error)"
        }
        try state.save(repository)
        withExtendedLifetime(lock) {}

        let ok = !outcomes.contains { $0.status == "failed" } && retentionError == nil
        var report = RunReport(now: Timestamp.rfc3339(now), ok: ok, schedules: outcomes, forgotten: forgotten,
                               prunedBytes: pruned, retentionError: retentionError, notifyError: nil)
        if let metricsFile {
            try PrometheusMetrics.write(PrometheusMetrics.render(state, now: now, succeeded: ok), to: metricsFile)
        }
        if !ok, let webhook = policy.notifyWebhook {
            let failed = outcomes.filter { $0.status == "failed" }
            let names = failed.map(\.schedule).joined(separator: ", ")
            let text = ":rotating_light: lifeboat run on \(ProcessInfo.processInfo.hostName) failed: "
                + (failed.isEmpty ? "retention: \(retentionError ?? "")" : "schedule \(names): \(failed.first?.error ?? "")")
            report.notifyError = await WebhookNotifier.send(
                .init(text: text, policy: policy.file, host: ProcessInfo.processInfo.hostName, failures: failed), to: webhook)
        }
        return report
    }
}
