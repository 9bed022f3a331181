import Foundation

/// `lifeboat status`: the objectives watched between drills. Per source, the newest snapshot
/// and its age against the RPO objective (a physical PostgreSQL source: the newest archived WAL
/// file, which is where a point-in-time restore can reach); per schedule, the last run, its
/// error and the next firing; per drill plan, the last drill and its age; the stored bytes.
/// `met` is false as soon as one source's age exceeds its RPO: the command then exits 4, so a
/// monitoring check can call it.
public struct PolicyStatus: Codable, Sendable {
    public var now: String
    public var repository: String
    public var host: String
    public var storedBytes: Int64
    public var sources: [SourceStatus]
    public var schedules: [ScheduleStatus]
    public var drills: [DrillStatus]
    public var met: Bool

    public struct SourceStatus: Codable, Sendable {
        public var source: String
        public var type: String
        public var newestSnapshot: String?
        /// The newest snapshot's recovery point, and for physical PostgreSQL the newest archived
        /// WAL file's time.
        public var recoveryPoint: String?
        public var walArchivedAt: String?
        /// Now minus the newest point a restore can reach.
        public var ageSeconds: Double?
        public var rpoObjectiveSeconds: Double?
        /// nil without an objective; false when there is no snapshot at all.
        public var met: Bool?
        enum CodingKeys: String, CodingKey {
            case source, type, met
            case newestSnapshot = "newest_snapshot"
            case recoveryPoint = "recovery_point"
            case walArchivedAt = "wal_archived_at"
            case ageSeconds = "age_seconds"
            case rpoObjectiveSeconds = "rpo_objective_seconds"
        }
    }

    public struct ScheduleStatus: Codable, Sendable {
        public var schedule: String
        public var cron: String
        public var lastSlot: String?
        public var lastSuccess: String?
        public var lastError: String?
        public var nextFiring: String?
        enum CodingKeys: String, CodingKey {
            case schedule, cron
            case lastSlot = "last_slot"
            case lastSuccess = "last_success"
            case lastError = "last_error"
            case nextFiring = "next_firing"
        }
    }

    public struct DrillStatus: Codable, Sendable {
        public var drill: String
        public var lastStarted: String
        public var ageSeconds: Double
        public var objectivesMet: Bool
        public var checksPassed: Bool
        enum CodingKeys: String, CodingKey {
            case drill
            case lastStarted = "last_started"
            case ageSeconds = "age_seconds"
            case objectivesMet = "objectives_met"
            case checksPassed = "checks_passed"
        }
    }

    enum CodingKeys: String, CodingKey {
        case now, repository, host, sources, schedules, drills, met
        case storedBytes = "stored_bytes"
    }

    /// The status of `policy`'s sources in `repository`, for `host`'s schedules, at `now`.
    public static func measure(policy: Policy, repository: Repository, host: String, now: Date) throws -> PolicyStatus {
        let snapshots = repository.loadSnapshots().snapshots
        let wal = try? WALArchive(repository: repository).newestArchiveTime()
        var sources: [SourceStatus] = []
        for source in policy.sources {
            let type = Swift.type(of: source).type
            let newest = snapshots.last { $0.component(source.name) != nil }
            var status = SourceStatus(
                source: source.name, type: type, newestSnapshot: newest?.name, recoveryPoint: newest?.recoveryPoint(of: source.name))
            var reached = newest.flatMap { Timestamp.parse($0.recoveryPoint(of: source.name)) }
            if let pg = source as? PostgresAdapter, pg.mode == .physical, let archived = wal ?? nil {
                status.walArchivedAt = Timestamp.rfc3339(archived)
                if let base = reached { reached = max(base, archived) }  // WAL without a base backup restores nothing
            }
            status.ageSeconds = reached.map { (now.timeIntervalSince($0) * 1000).rounded() / 1000 }
            status.rpoObjectiveSeconds = policy.objectives[source.name]?.rpo
            if let rpo = status.rpoObjectiveSeconds { status.met = (status.ageSeconds ?? .infinity) <= rpo }
            sources.append(status)
        }
        let state = (try? RunState.load(repository, host: host)) ?? RunState()
        let schedules = policy.schedules.map { schedule in
            let remembered = state.schedules[schedule.name]
            return ScheduleStatus(
                schedule: schedule.name, cron: schedule.cron.expression, lastSlot: remembered?.lastSlot, lastSuccess: remembered?.lastSuccess,
                lastError: remembered?.lastError,
                nextFiring: schedule.cron.nextFiring(after: now, in: policy.timeZone).map { Timestamp.rfc3339($0) })
        }
        var drills: [String: DrillStatus] = [:]
        for report in DrillHistory(repository: repository).all() {
            guard let started = Timestamp.parse(report.started),
                (drills[report.drill].flatMap { Timestamp.parse($0.lastStarted) } ?? .distantPast) <= started
            else { continue }
            drills[report.drill] = DrillStatus(
                drill: report.drill, lastStarted: report.started, ageSeconds: (now.timeIntervalSince(started) * 10).rounded() / 10,
                objectivesMet: report.objectivesMet, checksPassed: report.checksPassed)
        }
        let stored = ((try? repository.storage.list("")) ?? []).reduce(Int64(0)) { $0 + $1.size }
        return PolicyStatus(
            now: Timestamp.rfc3339(now), repository: repository.location, host: host, storedBytes: stored, sources: sources,
            schedules: schedules, drills: drills.values.sorted { $0.drill < $1.drill }, met: sources.allSatisfy { $0.met != false })
    }
}
