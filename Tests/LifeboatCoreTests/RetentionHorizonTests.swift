import Foundation
import Testing

@testable import LifeboatCore

/// #16: Object Lock dates follow the GFS plan. `RetentionHorizon` says, when a snapshot is taken,
/// when retention will forget it if every later backup happens on time; a simulated year of
/// backups (one at each cron firing, retention applied after each) forgets every snapshot at
/// exactly that moment: never earlier (a lock that ended early would let a prune delete what
/// retention still keeps) and never later (a lock kept longer costs storage).
@Suite struct RetentionHorizonTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var cron: String
        var zone: String
        var rules: RetentionRules
        var days: Int
        var testDescription: String { "\(cron) in \(zone)" }
    }

    static let cases: [Case] = [
        // Hourly GFS with keep-within, over a year in UTC.
        Case(
            cron: "0 * * * *", zone: "UTC",
            rules: RetentionRules(last: 3, hourly: 24, daily: 7, weekly: 4, monthly: 6, within: RetentionDuration(days: 2)), days: 365),
        // Daily at 02:00 in Berlin (both DST changes; 02:00 does not exist on one day), yearly too.
        Case(cron: "0 2 * * *", zone: "Europe/Berlin", rules: RetentionRules(daily: 7, weekly: 5, monthly: 12, yearly: 2), days: 400),
        // Four times a day, weekly and monthly only: most snapshots are dropped at once.
        Case(cron: "15 */6 * * *", zone: "America/New_York", rules: RetentionRules(weekly: 3, monthly: 2), days: 200),
    ]

    @Test(arguments: cases)
    func aSimulatedYearForgetsEverySnapshotExactlyWhenTheHorizonSaid(_ c: Case) throws {
        let zone = try #require(TimeZone(identifier: c.zone))
        let cron = try CronSchedule(parsing: c.cron)
        var horizon = RetentionHorizon(rules: c.rules, cron: cron, timeZone: zone)
        horizon.maxFirings = 30_000
        let retention = Retention(rules: c.rules, timeZone: zone)
        let start = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01T00:00:00Z
        let firings = horizon.firings(after: start, until: start.addingTimeInterval(Double(c.days) * 86_400))
        var kept: [Date] = []
        var predicted: [Date: Date] = [:]
        var forgotten: [Date: Date] = [:]
        let stride = max(1, firings.count / 150)
        for (step, now) in firings.enumerated() {
            kept.append(now)
            // Predict some snapshots at their creation, and every kept one now and then.
            let all = step % (stride * 17) == 0
            if step % stride == 0 || all {
                let until = horizon.keptUntil(kept.map { Instant($0) })
                for (time, date) in zip(kept, until) where time == now || all {
                    // nil: retention forgets it at this firing.
                    let date = date ?? now
                    if let earlier = predicted[time] { #expect(earlier == date, "the horizon of \(time) moved while backups ran on time") }
                    predicted[time] = date
                }
            }
            let decisions = retention.apply(kept.map { Instant($0) })
            let drop = Set(decisions.filter { !$0.kept }.map(\.index))
            for i in drop { forgotten[kept[i]] = now }
            kept = kept.enumerated().filter { !drop.contains($0.offset) }.map(\.element)
        }
        #expect(predicted.count > 100)
        let end = firings.last!
        for (time, date) in predicted {
            if let actual = forgotten[time] {
                #expect(date == actual, "snapshot \(time): horizon \(date), forgotten at \(actual)")
            } else {
                #expect(date > end, "snapshot \(time): horizon \(date), still kept at the end \(end)")
            }
        }
    }

    @Test func keepTagNoRulesAndDropsBeyondTheFiringsLookedAtAreForever() throws {
        let cron = try CronSchedule(parsing: "0 * * * *")
        // 2026-12-31T22:00Z and 23:00Z: the last hour of the year.
        let times = [Instant(seconds: 1_798_754_400), Instant(seconds: 1_798_758_000)]
        let none = RetentionHorizon(rules: RetentionRules(), cron: cron, timeZone: .init(identifier: "UTC")!)
        #expect(none.keptUntil(times) == [.distantFuture, .distantFuture])
        var yearly = RetentionHorizon(rules: RetentionRules(last: 1, yearly: 3), cron: cron, timeZone: .init(identifier: "UTC")!)
        yearly.maxFirings = 1000
        let until = yearly.keptUntil(times, tagged: [true, false])
        #expect(until[0] == .distantFuture, "tagged")
        #expect(until[1] == .distantFuture, "the newest is the year's: kept 3 years, beyond 1,000 hourly firings")
        let lastOnly = RetentionHorizon(rules: RetentionRules(last: 1), cron: cron, timeZone: .init(identifier: "UTC")!)
        #expect(lastOnly.keptUntil(times) == [nil, Date(timeIntervalSince1970: 1_798_761_600)], "the older one is forgotten now")
        // Not the year's last: the next firing, in the same year, takes its place.
        let early = [Instant(seconds: 1_767_225_600)]
        #expect(yearly.keptUntil(early) == [Date(timeIntervalSince1970: 1_767_229_200)])
    }
}
