import Foundation

/// A schedule's next firings (`lifeboat schedules`): when `run` will next find it due, in UTC.
public struct ScheduleFirings: Codable, Sendable, Equatable {
    public var name: String
    public var cron: String
    /// The policy's time zone, in which the cron expression is read.
    public var timezone: String
    /// RFC 3339 UTC instants, ascending.
    public var next: [String]

    /// Every schedule of `policy`, with its next `count` firings after `from`.
    public static func of(_ policy: Policy, after from: Date, count: Int) -> [ScheduleFirings] {
        policy.schedules.map { schedule in
            ScheduleFirings(
                name: schedule.name, cron: schedule.cron.expression, timezone: policy.timeZoneName,
                next: schedule.cron.nextFirings(after: from, count: count, in: policy.timeZone).map { Timestamp.rfc3339($0) })
        }
    }
}
