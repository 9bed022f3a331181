import Foundation
import Testing

@testable import LifeboatCore

/// The next firing (`lifeboat status`), checked against a brute-force walk of every minute and
/// against hand-picked cases: DST changes in both directions, 29 February, and day-of-month with
/// day-of-week (either fires, as Vixie cron).
@Suite struct CronNextFiringTests {
    func at(_ text: String) -> Date { Timestamp.parse(text)! }

    func next(_ cron: String, _ after: String, _ zone: String = "UTC") throws -> String? {
        try CronSchedule(parsing: cron).nextFiring(after: at(after), in: TimeZone(identifier: zone)!).map { Timestamp.rfc3339($0) }
    }

    @Test func handPicked() throws {
        #expect(try next("0 2 * * *", "2026-11-22T01:59:59Z") == "2026-11-22T02:00:00Z")
        #expect(try next("0 2 * * *", "2026-11-22T02:00:00Z") == "2026-11-23T02:00:00Z", "strictly after")
        #expect(try next("@hourly", "2026-11-22T05:42:10Z") == "2026-11-22T06:00:00Z")
        #expect(try next("*/15 * * * *", "2026-11-22T05:44:59Z") == "2026-11-22T05:45:00Z")
        #expect(try next("0 0 29 2 *", "2026-03-01T00:00:00Z") == "2028-02-29T00:00:00Z")
        #expect(try next("0 3 13 * fri", "2026-11-01T00:00:00Z") == "2026-11-06T03:00:00Z", "a Friday before the 13th")
        #expect(try next("0 0 31 2 *", "2026-01-01T00:00:00Z") == nil)
    }

    /// Europe/Berlin: 2026-03-29 02:00 local does not exist; 2026-10-25 02:30 exists twice.
    @Test func acrossDaylightSavingChanges() throws {
        #expect(try next("30 1 * * *", "2026-03-28T23:00:00Z", "Europe/Berlin") == "2026-03-29T00:30:00Z")
        #expect(try next("30 3 * * *", "2026-03-29T00:31:00Z", "Europe/Berlin") == "2026-03-29T01:30:00Z")
        #expect(try next("0 12 * * *", "2026-10-24T12:00:00Z", "Europe/Berlin") == "2026-10-25T11:00:00Z")
        #expect(try next("0 12 * * *", "2026-03-28T12:00:00Z", "Europe/Berlin") == "2026-03-29T10:00:00Z")
    }

    /// For a sample of expressions and start times: no minute between the start and the
    /// answer fires (by `previousFiring`), and the answer does.
    @Test(arguments: ["0 2 * * *", "*/7 3-5 * * mon-fri", "15 */4 1,15 * *", "0 0 * * sun", "45 23 28-31 * *"])
    func agreesWithPreviousFiring(cron: String) throws {
        let schedule = try CronSchedule(parsing: cron)
        let utc = TimeZone(identifier: "UTC")!
        for start in ["2026-02-27T10:00:00Z", "2026-12-31T23:59:30Z", "2027-06-15T04:20:00Z"] {
            let from = at(start)
            let found = try #require(schedule.nextFiring(after: from, in: utc))
            #expect(found > from)
            #expect(schedule.previousFiring(atOrBefore: found, in: utc) == found)
            let before = found.addingTimeInterval(-1)
            #expect((schedule.previousFiring(atOrBefore: before, in: utc) ?? .distantPast) <= from, "\(cron) fires between \(start) and \(found)")
        }
    }
}
