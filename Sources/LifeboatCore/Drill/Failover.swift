import Foundation

/// The destructive half of a failover drill: heartbeats into the live sources, then SIGKILL of
/// the primaries the plan marks `sandbox: true`. Returns the kill time, from which RTO and RPO
/// are measured.
final class Failover {
    let plan: DrillPlan
    let policy: Policy
    let progress: ProgressLine
    private(set) var summary: DrillReport.FailoverSummary?
    /// Per killed source, the marks of the heartbeats acknowledged before the kill.
    private(set) var acknowledged: [String: [Int64]] = [:]

    init(plan: DrillPlan, policy: Policy, progress: ProgressLine) throws {
        self.plan = plan
        self.policy = policy
        self.progress = progress
    }

    func run() throws -> Date {
        var postgres: [(String, PostgresAdapter)] = []
        var redis: [(String, RedisAdapter)] = []
        var victims: [(name: String, pid: pid_t)] = []
        for source in plan.sources {
            guard let primary = source.primary, let configured = policy.sources.first(where: { $0.name == source.name }) else { continue }
            switch configured {
            case let pg as PostgresAdapter:
                guard let datadir = primary.datadir else {
                    throw LifeboatError(
                        .invalidInput, "failover source \"\(source.name)\": a PostgreSQL primary needs `datadir:` (its postmaster.pid is killed)")
                }
                guard let text = try? String(contentsOfFile: "\(datadir)/postmaster.pid", encoding: .utf8),
                    let pid = text.split(separator: "\n").first.flatMap({ pid_t($0) }), kill(pid, 0) == 0
                else {
                    throw LifeboatError(.invalidInput, "failover source \"\(source.name)\": no running postmaster in \(datadir)")
                }
                postgres.append((source.name, pg))
                victims.append((source.name, pid))
            case let rd as RedisAdapter:
                let info = try RedisInfo.fetch(try rd.connect(), section: "server")
                guard let pid = info.int("process_id").map({ pid_t($0) }) else {
                    throw LifeboatError(.operationFailed, "failover source \"\(source.name)\": Redis reports no process_id")
                }
                redis.append((source.name, rd))
                victims.append((source.name, pid))
            default:
                throw LifeboatError(
                    .invalidInput, "failover source \"\(source.name)\": only PostgreSQL and Redis primaries can be killed",
                    fix: "drop `primary:` from it; it is still restored and checked")
            }
        }
        progress.update("drill \(plan.name): writing heartbeats for \(Int(plan.heartbeatRun)) s")
        let writer = try HeartbeatWriter(postgres: postgres, redis: redis, interval: plan.heartbeatInterval)
        Thread.sleep(forTimeInterval: plan.heartbeatRun)
        let killedAt = Date()
        for victim in victims { kill(victim.pid, SIGKILL) }
        writer.stop()
        acknowledged = writer.acknowledged
        for victim in victims where acknowledged[victim.name] == nil { acknowledged[victim.name] = [] }
        progress.update("drill \(plan.name): primaries killed, recovering")
        summary = DrillReport.FailoverSummary(
            killedAt: Timestamp.rfc3339(killedAt, fractional: true), killed: victims.map(\.name),
            heartbeatsWritten: writer.acknowledged.mapValues(\.count),
            lastHeartbeatAcknowledged: writer.lastAcknowledged.mapValues { Timestamp.rfc3339($0, fractional: true) })
        let before = writer.errors.filter { $0.value.at < killedAt }.mapValues(\.message)
        summary?.heartbeatErrors = before.isEmpty ? nil : before
        return killedAt
    }
}
