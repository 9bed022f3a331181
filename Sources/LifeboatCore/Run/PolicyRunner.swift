import Foundation

/// `lifeboat run`: what cron calls every few minutes. Under one lock for the whole run, it backs
/// up every schedule whose cron fired since the slot it last served (a missed window is caught up
/// once, not once per slot; a schedule never run is due at once), keeps going when one fails,
/// then applies retention, saves its state, prunes, and writes metrics. Backups and retention
/// share the repository with other writers; the prune needs it to itself, and is left to a later
/// run (`prune_deferred`) when another writer is busy.
public struct PolicyRunner {
    public let policy: Policy
    public let repository: Repository
    public let progress: ProgressLine
    /// The host whose schedules this run serves (its state and snapshots).
    public var host = ProcessInfo.processInfo.hostName

    public init(policy: Policy, repository: Repository, progress: ProgressLine) {
        self.policy = policy
        self.repository = repository
        self.progress = progress
    }

    /// Runs now, on the machine's clock (`Clock`). `clock` decides what counts as a snapshot
    /// from the future, which stops retention.
    public func run(clock: ClockGuard, metricsFile: String?) async throws -> RunReport {
        let now = clock.now
        let lock = try RepositoryLock(repository: repository, mode: .shared, command: "lifeboat run --policy \(policy.file)")
        defer { lock.release() }
        var state = try RunState.load(repository, host: host)
        var outcomes: [RunReport.Outcome] = []
        for schedule in policy.schedules {
            var scheduleState = state.schedules[schedule.name] ?? .init()
            let (slot, skew) = due(schedule, scheduleState, clock: clock)
            guard let slot else {
                outcomes.append(.init(schedule: schedule.name, status: "not-due", slot: scheduleState.lastSlot, snapshot: nil, error: nil))
                continue
            }
            let slotText = Timestamp.rfc3339(slot)
            scheduleState.lastAttempt = Timestamp.rfc3339(now)
            let sources = policy.sources(of: schedule)
            do {
                var backup = BackupRunner(repository: repository, progress: progress)
                backup.host = host
                backup.policy = policy
                let result =
                    try await backup
                    .run(
                        sources: sources, schedule: schedule.name, compression: schedule.compression ?? policy.compression,
                        policyPath: policy.file, command: "lifeboat run", lock: lock, started: now)
                scheduleState.lastSlot = slotText
                scheduleState.lastSuccess = result.manifest.finished
                scheduleState.lastError = nil
                for component in result.manifest.components {
                    let i = state.source(component.source, schedule.name)
                    state.sources[i].lastSuccess = (Timestamp.parse(result.manifest.finished) ?? now).timeIntervalSince1970
                    if case .double(let seconds) = component.metadata["capture_seconds"] { state.sources[i].durationSeconds = seconds }
                    state.sources[i].bytes = component.bytes
                }
                outcomes.append(
                    .init(schedule: schedule.name, status: "ok", slot: slotText, snapshot: result.manifest.name, error: nil, warning: skew))
            } catch {
                let message = (error as? LifeboatError)?.description ?? "\(error)"
                scheduleState.lastError = message
                for source in sources { state.sources[state.source(source.name, schedule.name)].failures += 1 }
                outcomes.append(.init(schedule: schedule.name, status: "failed", slot: slotText, snapshot: nil, error: message, warning: skew))
            }
            state.schedules[schedule.name] = scheduleState
        }

        var forgotten: [String] = []
        var pruned: Int64 = 0
        var retentionError: String?
        var clockRefused = false
        let retentionSkipped =
            repository.mayDelete
            ? nil
            : "the repository is append-only and this host's credentials may not delete: "
                + "apply retention with `lifeboat forget --policy \(policy.file) --prune --admin-credentials FILE` where the admin credentials are"
        if retentionSkipped == nil {
            do {
                let snapshots = repository.loadSnapshots().snapshots
                do {
                    try clock.check(snapshots, command: "lifeboat run --policy \(policy.file)")
                } catch {
                    clockRefused = true
                    throw error
                }
                let plan = ForgetPlan(policy: policy, snapshots: snapshots, now: now)
                do {
                    try clock.check(plan, command: "lifeboat run --policy \(policy.file)")
                } catch {
                    clockRefused = true
                    throw error
                }
                try repository.forget(ids: plan.forget)
                forgotten = plan.forget
            } catch {
                retentionError = (error as? LifeboatError)?.description ?? "\(error)"
            }
        }
        // Object Lock: what retention keeps must stay locked (even where this host may not delete).
        var locksRenewed: [String]?
        if retentionError == nil, var renewal = LockRenewal(repository: repository, policy: policy) {
            renewal.progress = progress
            do {
                let snapshots = repository.loadSnapshots().snapshots
                let kept = Set(snapshots.map(\.id)).subtracting(ForgetPlan(policy: policy, snapshots: snapshots, now: now).forget)
                locksRenewed = try renewal.run(snapshots: snapshots, kept: kept)
            } catch {
                retentionError = "renewing Object Locks: " + ((error as? LifeboatError)?.description ?? "\(error)")
            }
        }
        try state.save(repository, host: host)
        lock.release()
        var pruneDeferred: String?
        if retentionError == nil && retentionSkipped == nil {
            do {
                pruned = try RepositoryLock.with(repository, .exclusive, command: "lifeboat run --policy \(policy.file) (prune)") { _ in
                    try Pruner(repository: repository).run(dryRun: false, clock: clock).bytes
                }
            } catch let error as LifeboatError where error.code == .locked {
                pruneDeferred = error.message
            } catch {
                retentionError = (error as? LifeboatError)?.description ?? "\(error)"
            }
        }

        let ok = !outcomes.contains { $0.status == "failed" } && retentionError == nil
        var report = RunReport(
            now: Timestamp.rfc3339(now), ok: ok, schedules: outcomes, forgotten: forgotten,
            prunedBytes: pruned, retentionError: retentionError, notifyError: nil)
        report.pruneDeferred = pruneDeferred
        report.retentionSkipped = retentionSkipped
        report.locksRenewed = locksRenewed
        report.exitCode = ok ? 0 : (clockRefused && !outcomes.contains { $0.status == "failed" } ? 2 : 1)
        if let metricsFile {
            try PrometheusMetrics.write(PrometheusMetrics.render(state, now: now, succeeded: ok), to: metricsFile)
        }
        if !ok, let webhook = policy.notifyWebhook {
            let failed = outcomes.filter { $0.status == "failed" }
            let names = failed.map(\.schedule).joined(separator: ", ")
            let text =
                ":rotating_light: lifeboat run on \(ProcessInfo.processInfo.hostName) failed: "
                + (failed.isEmpty ? "retention: \(retentionError ?? "")" : "schedule \(names): \(failed.first?.error ?? "")")
            report.notifyError = await WebhookNotifier.send(
                .init(text: text, policy: policy.file, host: ProcessInfo.processInfo.hostName, failures: failed), to: webhook)
        }
        return report
    }

    /// The cron slot a schedule is due for, or nil when it is not due, and a warning when the
    /// served slot recorded in the state lies in the future: that is clock skew (the clock went
    /// back, or a clock that ran ahead served it), never a reason to skip backups.
    func due(_ schedule: Policy.Schedule, _ state: RunState.ScheduleState, clock: ClockGuard) -> (slot: Date?, skew: String?) {
        guard let slot = schedule.cron.previousFiring(atOrBefore: clock.now, in: policy.timeZone) else { return (nil, nil) }
        guard let text = state.lastSlot, let last = Timestamp.parse(text) else { return (slot, nil) }
        if last > clock.now.addingTimeInterval(clock.tolerance) {
            return (
                slot,
                "the run state says slot \(text) was served, which is later than this machine's clock "
                    + "(\(Timestamp.rfc3339(clock.now))): clock skew; backed up the current slot"
            )
        }
        return last >= slot ? (nil, nil) : (slot, nil)
    }

    /// What `run` would do at `clock.now` (`run --now T --rehearse`), changing nothing: which
    /// schedules are due, and what retention would forget among the snapshots there are.
    public func rehearse(clock: ClockGuard) throws -> RunReport {
        let state = try RunState.load(repository, host: host)
        var outcomes: [RunReport.Outcome] = []
        for schedule in policy.schedules {
            let scheduleState = state.schedules[schedule.name] ?? .init()
            let (slot, skew) = due(schedule, scheduleState, clock: clock)
            outcomes.append(
                .init(
                    schedule: schedule.name, status: slot == nil ? "not-due" : "due",
                    slot: slot.map { Timestamp.rfc3339($0) } ?? scheduleState.lastSlot, snapshot: nil, error: nil, warning: skew))
        }
        let snapshots = repository.loadSnapshots().snapshots
        var retentionError: String?
        var forgotten: [String] = []
        do {
            try clock.check(snapshots, command: "lifeboat run --policy \(policy.file)")
            forgotten = ForgetPlan(policy: policy, snapshots: snapshots, now: clock.now).forget
        } catch {
            retentionError = (error as? LifeboatError)?.description ?? "\(error)"
        }
        var report = RunReport(
            now: Timestamp.rfc3339(clock.now), ok: retentionError == nil, schedules: outcomes, forgotten: forgotten,
            prunedBytes: 0, retentionError: retentionError, notifyError: nil)
        report.rehearsal = true
        return report
    }
}
