import Foundation
import Testing

@testable import LifeboatCore

/// Random rule sets, at and beyond the bounds the loader allows, over random snapshot sets:
/// retention never traps, keeps what every rule promises, and never removes a snapshot newer
/// than the keep-within cutoff counted from min(newest, now).
@Suite struct RetentionPropertyTests {
    @Test func randomRulesOverRandomSnapshotsKeepTheirPromises() throws {
        var rng = SeededGenerator(seed: 2026)
        let zones: [TimeZone?] = [nil, TimeZone(identifier: "UTC"), TimeZone(identifier: "Europe/Berlin"), TimeZone(identifier: "Pacific/Chatham")]
        for round in 0..<3_000 {
            func count() -> Int { [0, 0, 1, 2, 7, 1000, RetentionRules.maxCount][Int.random(in: 0..<7, using: &rng)] }
            let max = RetentionDuration.maxYears
            let within: RetentionDuration? =
                Bool.random(using: &rng)
                ? nil
                : RetentionDuration(
                    years: Int.random(in: 0...max, using: &rng), months: Int.random(in: 0...(max * 12), using: &rng),
                    days: [0, 1, 2, 30, max * 366][Int.random(in: 0..<5, using: &rng)],
                    hours: [0, 1, 36, max * 366 * 24][Int.random(in: 0..<4, using: &rng)])
            let rules = RetentionRules(
                last: count(), hourly: count(), daily: count(), weekly: count(), monthly: count(), yearly: count(), within: within)
            let retention = Retention(rules: rules, timeZone: zones[round % zones.count])
            let n = Int.random(in: 0...60, using: &rng)
            let times = (0..<n).map { _ in
                Instant(
                    seconds: Int64.random(in: -62_135_596_800...253_402_300_799, using: &rng)
                        / Int64([1, 1000, 100_000][Int.random(in: 0..<3, using: &rng)]),
                    nanoseconds: 0, offset: Int32([0, 3600, -18000, 45900][Int.random(in: 0..<4, using: &rng)]))
            }
            let now = times.randomElement(using: &rng).map { Instant(seconds: $0.seconds - Int64.random(in: -86_400...86_400 * 400, using: &rng)) }
            let decisions = retention.apply(times, now: now)
            #expect(decisions.count == times.count)
            #expect(Set(decisions.map(\.index)) == Set(times.indices))
            let kept = decisions.filter(\.kept).count
            if rules.isEmpty { #expect(kept == n) }
            if rules.last > 0 { #expect(kept >= Swift.min(rules.last, n)) }
            if let within, !within.isZero, let newest = times.max() {
                let reference = now.map { Swift.min($0, newest) } ?? newest
                let cutoff = retention.withinCutoff(latest: reference, within)
                for d in decisions where times[d.index] > cutoff { #expect(d.kept, "round \(round): inside keep-within but removed") }
            }
        }
    }
}
