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

    func firings(_ cron: String, _ from: String, _ count: Int, _ zone: String) throws -> [String] {
        try CronSchedule(parsing: cron).nextFirings(after: at(from), count: count, in: TimeZone(identifier: zone)!).map { Timestamp.rfc3339($0) }
    }

    /// Clocks go forward: 02:00–03:00 local does not exist. A daily 02:30 fires at 03:30 that
    /// day (as far after the change as it lay after 02:00), once; an hourly schedule stays one
    /// hour apart in real time.
    @Test func springForward() throws {
        #expect(
            try firings("30 2 * * *", "2026-03-28T00:00:00Z", 3, "Europe/Berlin") == [
                "2026-03-28T01:30:00Z", "2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z",
            ])
        #expect(
            try firings("0 * * * *", "2026-03-28T23:30:00Z", 4, "Europe/Berlin") == [
                "2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z", "2026-03-29T03:00:00Z",
            ])
        // New York skips 02:00–03:00 on 2026-03-08; 02:15 becomes 03:15 EDT.
        #expect(
            try firings("15 2 * * *", "2026-03-07T00:00:00Z", 3, "America/New_York") == [
                "2026-03-07T07:15:00Z", "2026-03-08T07:15:00Z", "2026-03-09T06:15:00Z",
            ])
    }

    /// Clocks go back: 02:00–03:00 local happens twice. A daily 02:30 fires once, at the first
    /// 02:30; an hourly schedule fires in both 02:00 hours, so it stays hourly.
    @Test func fallBack() throws {
        #expect(
            try firings("30 2 * * *", "2026-10-24T00:00:00Z", 3, "Europe/Berlin") == [
                "2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z",
            ])
        #expect(
            try firings("0 * * * *", "2026-10-24T23:30:00Z", 4, "Europe/Berlin") == [
                "2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z",
            ])
        #expect(
            try firings("30 1 * * *", "2026-10-31T12:00:00Z", 3, "America/New_York") == [
                "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z",
            ])
        let berlin = TimeZone(identifier: "Europe/Berlin")!
        let daily = try CronSchedule(parsing: "30 2 * * *")
        #expect(daily.previousFiring(atOrBefore: at("2026-10-25T01:45:00Z"), in: berlin) == at("2026-10-25T00:30:00Z"))
    }

    /// 29 February fires only in leap years (2100 is not one); "the last days of February" by
    /// day-of-month 28-29 fires twice in leap years.
    @Test func leapDay() throws {
        #expect(
            try firings("0 6 29 2 *", "2026-01-01T00:00:00Z", 3, "UTC") == ["2028-02-29T06:00:00Z", "2032-02-29T06:00:00Z", "2036-02-29T06:00:00Z"])
        #expect(try next("0 6 29 2 *", "2096-03-01T00:00:00Z") == nil, "2100 is not a leap year and 2104 is more than 5 years away")
        #expect(
            try firings("0 0 28-29 feb *", "2027-01-01T00:00:00Z", 3, "UTC") == [
                "2027-02-28T00:00:00Z", "2028-02-28T00:00:00Z", "2028-02-29T00:00:00Z",
            ])
    }

    /// Day-of-month and day-of-week: both restricted, either matches (Vixie cron); one of them
    /// `*` or a stepped `*`, both must match.
    @Test func dayOfMonthWithDayOfWeek() throws {
        // December 2026: the 1st is a Tuesday.
        #expect(
            try firings("0 0 1,15 * mon", "2026-11-30T12:00:00Z", 4, "UTC") == [
                "2026-12-01T00:00:00Z", "2026-12-07T00:00:00Z", "2026-12-14T00:00:00Z", "2026-12-15T00:00:00Z",
            ])
        #expect(
            try firings("0 0 */2 * mon", "2026-11-30T12:00:00Z", 3, "UTC") == [
                "2026-12-07T00:00:00Z", "2026-12-21T00:00:00Z", "2027-01-11T00:00:00Z",
            ])
        #expect(try firings("0 0 * * 7", "2026-11-30T12:00:00Z", 1, "UTC") == ["2026-12-06T00:00:00Z"], "7 is Sunday")
        #expect(try firings("0 0 1 * *", "2026-11-30T12:00:00Z", 2, "UTC") == ["2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"])
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
