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
        /// Something a person should know (clock skew in the run state).
        public var warning: String?
    }

    public var now: String
    public var ok: Bool
    public var schedules: [Outcome]
    public var forgotten: [String]
    public var prunedBytes: Int64
    public var retentionError: String?
    public var notifyError: String?
    /// True for `run --rehearse`: nothing was backed up, forgotten or saved; `forgotten` lists
    /// what retention would forget.
    public var rehearsal: Bool?
    /// Why the prune after retention was left to a later run (another writer held the lock).
    public var pruneDeferred: String?
    /// Why retention (forget and prune) did not run: the repository is append-only, and this
    /// host's credentials may not delete. Not an error: an admin applies retention elsewhere.
    public var retentionSkipped: String?
    /// Object Lock: snapshots retention keeps whose locks this run extended (`LockRenewal`).
    public var locksRenewed: [String]?
    /// The exit status this run calls for: 0, 1 (a backup or retention failed), 2 (retention
    /// refused because of snapshots from the future). Not part of the JSON.
    public var exitCode: Int32 = 0

    enum CodingKeys: String, CodingKey {
        case now, ok, schedules, forgotten, rehearsal
        case pruneDeferred = "prune_deferred"
        case retentionSkipped = "retention_skipped"
        case locksRenewed = "locks_renewed"
        case prunedBytes = "pruned_bytes"
        case retentionError = "retention_error"
        case notifyError = "notify_error"
    }
}
