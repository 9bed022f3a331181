/// What one `lifeboat run` did, as printed with `--json`.
public struct RunReport: Codable, Sendable {
    /// One schedule's result.
    public struct Outcome: Codable, Sendable {
        public var schedule: String
        /// `ok`, `failed`, or `not-due`.
        public var status: String
        /// The cron firing served (due schedules) or last served (not due).
        public var slot: String?
        public var snapshot: String?
        public var error: String?
    }

    public var now: String
    public var ok: Bool
    public var schedules: [Outcome]
    public var forgotten: [String]
    public var prunedBytes: Int64
    public var retentionError: String?
    public var notifyError: String?

    enum CodingKeys: String, CodingKey {
        case now, ok, schedules, forgotten
        case prunedBytes = "pruned_bytes", retentionError = "retention_error", notifyError = "notify_error"
    }
}
