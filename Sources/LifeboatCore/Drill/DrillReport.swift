import Foundation

/// What a drill measured, as written to `NAME.json` (and rendered to Markdown and HTML). The
/// JSON is also kept in the repository (`drills/NAME.json`) for `lifeboat drills`.
public struct DrillReport: Codable, Sendable {
    public var drill: String
    public var kind: String
    public var plan: String
    public var repository: String
    public var host: String
    public var started: String
    public var finished: String
    /// Drill start until every check passed (nil when a check failed).
    public var rtoSeconds: Double?
    /// The largest of the sources' RPOs.
    public var rpoSeconds: Double?
    public var objectivesMet: Bool
    public var checksPassed: Bool
    public var sources: [SourceResult]
    public var phases: [Phase]
    public var checks: [Check]
    public var error: String?
    /// Failover drills: when the primaries were killed and what the heartbeat writer did.
    public var failover: FailoverSummary?

    public struct FailoverSummary: Codable, Sendable {
        public var killedAt: String
        public var killed: [String]
        public var heartbeatsWritten: [String: Int]
        public var lastHeartbeatAcknowledged: [String: String]
        enum CodingKeys: String, CodingKey {
            case killed
            case killedAt = "killed_at"
            case heartbeatsWritten = "heartbeats_written"
            case lastHeartbeatAcknowledged = "last_heartbeat_acknowledged"
        }
    }

    public struct SourceResult: Codable, Sendable {
        public var source: String
        public var type: String
        public var snapshot: String?
        public var recoveryPoint: String?
        /// Drill start − the recovery point reached.
        public var rpoSeconds: Double?
        /// Drill start until this source's checks passed.
        public var rtoSeconds: Double?
        public var rtoObjectiveSeconds: Double?
        public var rpoObjectiveSeconds: Double?
        public var met: Bool
        enum CodingKeys: String, CodingKey {
            case source, type, snapshot, met
            case recoveryPoint = "recovery_point"
            case rpoSeconds = "rpo_seconds"
            case rtoSeconds = "rto_seconds"
            case rtoObjectiveSeconds = "rto_objective_seconds"
            case rpoObjectiveSeconds = "rpo_objective_seconds"
        }
    }

    public struct Phase: Codable, Sendable {
        public var source: String
        public var name: String
        public var start: String
        /// Seconds from the drill's start to this phase's start.
        public var offsetSeconds: Double
        public var seconds: Double
        enum CodingKeys: String, CodingKey {
            case source, name, start, seconds
            case offsetSeconds = "offset_seconds"
        }
    }

    public struct Check: Codable, Sendable {
        public var source: String
        public var name: String
        public var passed: Bool
        public var detail: String
    }

    enum CodingKeys: String, CodingKey {
        case drill, kind, plan, repository, host, started, finished, sources, phases, checks, error, failover
        case rtoSeconds = "rto_seconds"
        case rpoSeconds = "rpo_seconds"
        case objectivesMet = "objectives_met"
        case checksPassed = "checks_passed"
    }

    /// `NAME-<compact start time>`: the report files' base name.
    public var fileStem: String {
        "\(drill)-\(Timestamp.compact(Timestamp.parse(started) ?? Date()))"
    }

    public func json() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return Array(try encoder.encode(self)) + [0x0a]
    }

    /// The exit code the drill ends with: 1 when a check failed (or the drill could not run),
    /// 4 when an objective was missed, else 0.
    public var exitCode: Int32 {
        if !checksPassed || error != nil { return 1 }
        return objectivesMet ? 0 : 4
    }
}
