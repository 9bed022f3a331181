import Foundation
import Testing

@testable import LifeboatCore

@Suite struct CronScheduleTests {
    let utc = TimeZone(identifier: "UTC")!

    func at(_ text: String) -> Date { Timestamp.parse(text)! }

    func previous(_ cron: String, _ now: String, _ zone: TimeZone? = nil) throws -> String? {
        try CronSchedule(parsing: cron).previousFiring(atOrBefore: at(now), in: zone ?? utc).map { Timestamp.rfc3339($0) }
    }

    @Test func dailyAndHourly() throws {
        #expect(try previous("0 2 * * *", "2026-11-22T01:59:59Z") == "2026-11-21T02:00:00Z")
        #expect(try previous("0 2 * * *", "2026-11-22T02:00:00Z") == "2026-11-22T02:00:00Z")
        #expect(try previous("@hourly", "2026-11-22T05:42:00Z") == "2026-11-22T05:00:00Z")
        #expect(try previous("@daily", "2026-11-22T05:42:00Z") == "2026-11-22T00:00:00Z")
        #expect(try previous("@monthly", "2026-11-22T05:42:00Z") == "2026-11-01T00:00:00Z")
        #expect(try previous("@yearly", "2026-11-22T05:42:00Z") == "2026-01-01T00:00:00Z")
    }

    @Test func rangesStepsListsAndNames() throws {
        #expect(try previous("*/15 9-17 * * mon-fri", "2026-11-22T12:00:00Z") == "2026-11-20T17:45:00Z")  // the 22nd is a Sunday
        #expect(try previous("*/15 9-17 * * MON-FRI", "2026-11-20T12:07:00Z") == "2026-11-20T12:00:00Z")
        #expect(try previous("5,35 */6 * * *", "2026-11-22T13:00:00Z") == "2026-11-22T12:35:00Z")
        #expect(try previous("0 3 * * 0", "2026-11-25T00:00:00Z") == "2026-11-22T03:00:00Z")
        #expect(try previous("0 3 * * 7", "2026-11-25T00:00:00Z") == "2026-11-22T03:00:00Z")
        #expect(try previous("0 3 * * sun", "2026-11-22T02:59:00Z") == "2026-11-15T03:00:00Z")
        #expect(try previous("0 0 1 jan,jul *", "2026-11-22T00:00:00Z") == "2026-07-01T00:00:00Z")
        #expect(try previous("10-20/5 1 * * *", "2026-11-22T01:17:00Z") == "2026-11-22T01:15:00Z")
    }

    @Test func dayOfMonthOrDayOfWeekWhenBothAreRestricted() throws {
        // Vixie cron: the 13th OR a Friday.
        #expect(try previous("0 0 13 * fri", "2026-11-19T00:00:00Z") == "2026-11-13T00:00:00Z")
        #expect(try previous("0 0 13 * fri", "2026-11-21T00:00:00Z") == "2026-11-20T00:00:00Z")
    }

    @Test func evaluatedInThePolicyTimeZone() throws {
        let berlin = TimeZone(identifier: "Europe/Berlin")!
        #expect(try previous("0 2 * * *", "2026-11-22T12:00:00Z", berlin) == "2026-11-22T01:00:00Z")  // CET, UTC+1
        #expect(try previous("0 2 * * *", "2026-07-22T12:00:00Z", berlin) == "2026-07-22T00:00:00Z")  // CEST, UTC+2
    }

    @Test func impossibleDatesNeverFire() throws {
        #expect(try previous("0 0 31 2 *", "2026-11-22T00:00:00Z") == nil)
    }

    @Test(arguments: [
        "", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8",
        "*/0 * * * *", "5-1 * * * *", "a * * * *", "1,,2 * * * *", "@sometimes", "* * * foo *", "1-2-3 * * * *",
    ])
    func invalidExpressionsAreRefused(expression: String) {
        #expect(throws: CronSchedule.ParseError.self) { try CronSchedule(parsing: expression) }
    }
}
