import Foundation

/// What an operator wants backed up, when, and where: the parsed, validated policy file.
public struct Policy: Sendable {
    /// The file it was loaded from.
    public var file: String
    /// Repository path from `repository:` (resolved against the policy's directory), if given.
    public var repository: String?
    /// S3 settings from `s3:` (endpoint, region, credentials file, part size…).
    public var storage: StorageSettings?
    /// The symmetric repository key from `key_file:`, for encrypted repositories.
    public var keyFile: String?
    /// Default compression for every schedule.
    public var compression: Compression
    /// The time zone cron schedules and calendar retention buckets are evaluated in (default UTC).
    public var timeZone: TimeZone
    /// The time zone's IANA name for people (Foundation on Linux calls UTC "GMT").
    public var timeZoneName: String { timeZone.identifier == "GMT" ? "UTC" : timeZone.identifier }
    /// Recovery objectives by source name.
    public var objectives: [String: Objectives]
    /// Where to report failures of `run`, if anywhere.
    public var notifyWebhook: String?
    /// Sources in document order.
    public var sources: [any SourceAdapter]
    /// Schedules in document order.
    public var schedules: [Schedule]

    /// A named schedule: when it runs and which sources it covers.
    public struct Schedule: Sendable {
        public var name: String
        /// When it is due.
        public var cron: CronSchedule
        /// Source names; empty means every source.
        public var sources: [String]
        /// Overrides the policy's compression.
        public var compression: Compression?
        /// What `forget` keeps of this schedule's snapshots (per source); nil keeps everything.
        public var retention: RetentionRules?
    }

    /// The source named `name`.
    public func source(_ name: String) -> (any SourceAdapter)? {
        sources.first { $0.name == name }
    }

    /// The schedule named `name`.
    public func schedule(_ name: String) -> Schedule? {
        schedules.first { $0.name == name }
    }

    /// The sources a schedule covers, in policy order.
    public func sources(of schedule: Schedule) -> [any SourceAdapter] {
        schedule.sources.isEmpty ? sources : sources.filter { schedule.sources.contains($0.name) }
    }
}
