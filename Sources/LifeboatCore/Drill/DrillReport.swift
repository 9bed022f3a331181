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
    /// Ransomware drills: what the attack with the backup host's credentials tried, and what S3
    /// answered.
    public var attack: AttackSummary?
    /// Who ran it, with what, on which plan and repository (reports of older builds: nil).
    public var audit: Audit?
    /// The last drills of the same plan before this one, oldest first, from the repository's
    /// drill history (reports of older builds: nil).
    public var history: [DrillTrendPoint]?
    /// SHA-256 of the report's canonical JSON without this field, as manifests carry theirs:
    /// `lifeboat drills verify REPORT` recomputes it (nil in reports of older builds).
    public var checksum: String?

    /// The report format written now; 1 is the format before the audit block and checksum.
    public static let currentFormat = 2

    /// What an auditor needs to know besides the measurements.
    public struct Audit: Codable, Sendable {
        public var format: Int
        public var lifeboatVersion: String
        /// `user@host` of the process that ran the drill.
        public var runBy: String
        public var repositoryId: String
        /// The plan as run: its SHA-256 and its text.
        public var planSHA256: String
        public var planText: String
        /// What offsets and RTO count from: the kill (failover) or the drill's start (restore).
        public var timeBase: String
        /// The definitions the measurements follow.
        public var definitions: [String: String]
        enum CodingKeys: String, CodingKey {
            case format, definitions
            case lifeboatVersion = "lifeboat_version"
            case runBy = "run_by"
            case repositoryId = "repository_id"
            case planSHA256 = "plan_sha256"
            case planText = "plan_text"
            case timeBase = "time_base"
        }
    }

    public struct FailoverSummary: Codable, Sendable {
        public var killedAt: String
        public var killed: [String]
        public var heartbeatsWritten: [String: Int]
        public var lastHeartbeatAcknowledged: [String: String]
        /// Per killed source: the newest heartbeat present after recovery (absent: none of this
        /// drill's survived), and the acknowledged heartbeats after it, lost (reports of older
        /// builds: nil).
        public var newestHeartbeatRecovered: [String: String]?
        public var acknowledgedWritesLost: [String: Int]?
        /// Per source, a heartbeat write that failed before the kill: its figures are short.
        public var heartbeatErrors: [String: String]?
        enum CodingKeys: String, CodingKey {
            case heartbeatErrors = "heartbeat_errors"
            case killed
            case killedAt = "killed_at"
            case newestHeartbeatRecovered = "newest_heartbeat_recovered"
            case acknowledgedWritesLost = "acknowledged_writes_lost"
            case heartbeatsWritten = "heartbeats_written"
            case lastHeartbeatAcknowledged = "last_heartbeat_acknowledged"
        }
    }

    public struct AttackSummary: Codable, Sendable {
        public var started: String
        public var seconds: Double
        /// Objects of the repository (lock records aside) before and after the attack.
        public var objectsBefore: Int
        public var objectsAfter: Int
        /// DELETE requests sent, refused and (the protection failed) succeeded.
        public var attempts: Int
        public var refused: Int
        public var succeeded: Int
        /// Every attempt refused and every object still there.
        public var protected: Bool
        /// Why the attack stopped early: S3 permitted a DELETE.
        public var stoppedBecause: String?
        /// The first attempts, the bucket-wide ones and any that succeeded, with S3's answers.
        public var sample: [AttackAttempt] = []
        enum CodingKeys: String, CodingKey {
            case started, seconds, attempts, refused, succeeded, protected, sample
            case objectsBefore = "objects_before"
            case objectsAfter = "objects_after"
            case stoppedBecause = "stopped_because"
        }
    }

    public struct AttackAttempt: Codable, Sendable {
        public var request: String
        public var status: Int
        public var code: String
        public var refused: Bool
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
        case drill, kind, plan, repository, host, started, finished, sources, phases, checks, error, failover, attack, audit, history, checksum
        case rtoSeconds = "rto_seconds"
        case rpoSeconds = "rpo_seconds"
        case objectivesMet = "objectives_met"
        case checksPassed = "checks_passed"
    }

    /// `NAME-<compact start time>`: the report files' base name.
    public var fileStem: String {
        "\(drill)-\(Timestamp.compact(Timestamp.parse(started) ?? Date()))"
    }

    /// The report as written, with its checksum.
    public func json() throws -> [UInt8] {
        var sealed = self
        sealed.checksum = try computeChecksum()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return Array(try encoder.encode(sealed)) + [0x0a]
    }

    /// SHA-256 of the canonical JSON (sorted keys, no whitespace) without `checksum`.
    public func computeChecksum() throws -> String {
        var unsealed = self
        unsealed.checksum = nil
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return SHA256Hasher.hex(of: Array(try encoder.encode(unsealed)))
    }

    /// Checks a report file handed over: exit 3 (`.integrity`) when its checksum does not match
    /// its content, or it has none; the report otherwise.
    public static func verify(file path: String) throws -> DrillReport {
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw LifeboatError(.invalidInput, "cannot read \(path)", fix: "give the path of a drill report's .json")
        }
        return try verify(Array(bytes), path: path)
    }

    public static func verify(_ bytes: [UInt8], path: String) throws -> DrillReport {
        let report: DrillReport
        do {
            report = try JSONDecoder().decode(DrillReport.self, from: Data(bytes))
        } catch {
            throw LifeboatError(.integrity, "\(path) is not a drill report: \(error)")
        }
        guard let recorded = report.checksum else {
            throw LifeboatError(.integrity, "\(path) carries no checksum (written by a build before report format 2); it cannot be verified")
        }
        let actual = try report.computeChecksum()
        guard actual == recorded else {
            throw LifeboatError(
                .integrity,
                "\(path) was changed after it was written: its content hashes to \(actual.prefix(16))…, its checksum says \(recorded.prefix(16))…")
        }
        return report
    }

    /// A drill's outcome in words, for listings and the trend: "checks failed", "met" or
    /// "objective missed".
    public static func verdict(checksPassed: Bool, objectivesMet: Bool) -> String {
        !checksPassed ? "checks failed" : objectivesMet ? "met" : "objective missed"
    }

    /// The exit code the drill ends with: 1 when a check failed (or the drill could not run),
    /// 4 when an objective was missed, else 0.
    public var exitCode: Int32 {
        if !checksPassed || error != nil { return 1 }
        return objectivesMet ? 0 : 4
    }
}
