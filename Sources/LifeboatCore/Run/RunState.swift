import Foundation

/// What `run` remembers between invocations, per host, in `state/run-<host>.json` (written
/// atomically under the lock; builds before hosts shared repositories wrote `state/run.json`,
/// which is still read when a host has no file yet): per schedule the last cron slot it served,
/// and per (source, schedule) the figures the metrics file reports even on runs where nothing
/// was due. Per host, because one host's served slot says nothing about another's backups.
public struct RunState: Codable, Sendable {
    public struct ScheduleState: Codable, Sendable {
        /// The cron firing the last successful backup served; a later firing makes it due.
        public var lastSlot: String?
        public var lastSuccess: String?
        public var lastAttempt: String?
        public var lastError: String?
        enum CodingKeys: String, CodingKey {
            case lastSlot = "last_slot"
            case lastSuccess = "last_success"
            case lastAttempt = "last_attempt"
            case lastError = "last_error"
        }
    }

    public struct SourceState: Codable, Sendable {
        public var source: String
        public var schedule: String
        public var lastSuccess: Double?
        public var durationSeconds: Double?
        public var bytes: Int64?
        public var failures: Int
        enum CodingKeys: String, CodingKey {
            case source, schedule, bytes, failures
            case lastSuccess = "last_success_unix"
            case durationSeconds = "duration_seconds"
        }
    }

    public var schedules: [String: ScheduleState] = [:]
    public var sources: [SourceState] = []

    public init() {}

    static let legacyKey = "state/run.json"

    /// The key of `host`'s state (characters that cannot be in a key become `_`).
    static func key(host: String) -> String {
        let safe = String(host.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
        return "state/run-\(safe).json"
    }

    /// The saved state, or an empty one for a host `run` has not served yet.
    public static func load(_ repository: Repository, host: String) throws -> RunState {
        var key = key(host: host)
        var stored = try repository.storage.get(key)
        if stored == nil {
            key = legacyKey
            stored = try repository.storage.get(key)
        }
        guard let data = stored else { return RunState() }
        do {
            return try JSONDecoder().decode(RunState.self, from: Data(data))
        } catch {
            throw LifeboatError(
                .integrity, "\(repository.location)/\(key) is damaged", fix: "move it aside; `run` then treats every schedule as due once",
                underlying: error)
        }
    }

    public func save(_ repository: Repository, host: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try repository.storage.put(Self.key(host: host), Array(try encoder.encode(self)) + [10])
    }

    /// The entry for (source, schedule), created empty when missing.
    public mutating func source(_ source: String, _ schedule: String) -> Int {
        if let i = sources.firstIndex(where: { $0.source == source && $0.schedule == schedule }) { return i }
        sources.append(SourceState(source: source, schedule: schedule, failures: 0))
        return sources.count - 1
    }
}
