import Foundation

/// What `lifeboat wal status` reports of an async spool: what waits, how old the oldest waiting
/// file is (PostgreSQL's live RPO beyond the repository: a host lost now loses those files),
/// and what the pusher last recorded.
public struct WALSpoolStatus: Encodable, Sendable {
    public var spool: String
    public var queued: [Queued]
    public var queuedBytes: Int64
    /// Seconds since the oldest queued file was spooled (0 when nothing waits).
    public var oldestAgeSeconds: Double
    /// Files stored ahead of archive_command, whose marker awaits it.
    public var pushedAhead: Int
    public var pusherRunning: Bool
    public var pusher: WALPusherState?
    public var limitBytes: Int64
    /// Why `--link` copies now (the pusher saw PostgreSQL recycle a linked segment), if it does.
    public var linkUnsafe: String?

    public struct Queued: Encodable, Sendable {
        public var name: String
        public var bytes: Int64
        public var spooled: Date

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(bytes, forKey: .bytes)
            try c.encode(Timestamp.rfc3339(spooled, fractional: true), forKey: .spooled)
        }

        enum CodingKeys: String, CodingKey { case name, bytes, spooled }
    }

    enum CodingKeys: String, CodingKey {
        case spool, queued, pusher
        case queuedBytes = "queued_bytes"
        case oldestAgeSeconds = "oldest_age_seconds"
        case pushedAhead = "pushed_ahead"
        case pusherRunning = "pusher_running"
        case limitBytes = "limit_bytes"
        case linkUnsafe = "link_unsafe"
    }

    public init(spool: WALSpool, now: Date) {
        let files = spool.queued()
        self.spool = spool.directory
        queued = files.map { Queued(name: $0.name, bytes: $0.bytes, spooled: $0.spooled) }
        queuedBytes = files.reduce(0) { $0 + $1.bytes }
        oldestAgeSeconds = files.map(\.spooled).min().map { max(0, now.timeIntervalSince($0)) } ?? 0
        pushedAhead = spool.pushedAhead().count
        pusherRunning = spool.isPusherRunning()
        pusher = spool.state()
        limitBytes = spool.limit
        linkUnsafe = spool.linkUnsafe()
        self.now = now
    }

    /// When this was taken.
    public var now: Date

    /// The oldest queued file's spool time, if any.
    public var oldestSpooled: Date? { queued.map(\.spooled).min() }
}
