import Foundation

/// How long retention keeps each snapshot of one group if every later backup of its schedule
/// happens on time: the first later firing at which every rule that keeps a snapshot now has
/// dropped it. What Object Lock dates follow (a snapshot is locked at least until then), and
/// exact under its assumption: a simulation that adds a snapshot at each firing and applies the
/// rules forgets each snapshot at precisely that firing (RetentionHorizonTests, a simulated year).
/// A backup that fails keeps older snapshots longer than this said; what depends on it must be
/// extended then.
///
/// Per rule, for a snapshot the rule keeps now (restic's semantics, `Retention`):
/// - `keep-last N`, with p snapshots newer: dropped at the (N − p)th next firing;
/// - a calendar rule with count N whose bucket ranks b among the group's buckets (newest 0):
///   dropped at the next firing in its own bucket, if b = 0 and one comes before the bucket
///   ends; else at the firing that brings the (N − b)th bucket newer than every existing one;
/// - `keep-within D`: dropped at the first firing F with F − D not before it;
/// - `keep-tag`, or no rule at all: never (`Date.distantFuture`).
public struct RetentionHorizon: Sendable {
    public let retention: Retention
    public let cron: CronSchedule
    public let timeZone: TimeZone
    /// Firings are looked at up to this many (about 11 years of an hourly schedule); a drop
    /// beyond them is `Date.distantFuture`.
    public var maxFirings = 100_000

    public init(rules: RetentionRules, cron: CronSchedule, timeZone: TimeZone) {
        retention = Retention(rules: rules, timeZone: timeZone)
        self.cron = cron
        self.timeZone = timeZone
    }

    /// For each of `times` (one group's snapshots, in any order), when retention forgets it: nil
    /// when it does so already (the next `forget`), `Date.distantFuture` when never or beyond
    /// `maxFirings`. `tagged[i]`: snapshot i carries a `keep-tag` tag.
    public func keptUntil(_ times: [Instant], tagged: [Bool]? = nil) -> [Date?] {
        let rules = retention.rules
        if rules.isEmpty { return times.map { _ in .distantFuture } }
        let decisions = retention.apply(times)
        guard let newest = decisions.first.map({ times[$0.index] }) else { return [] }
        let future = firings(after: newest.date, until: newest.date.addingTimeInterval(span), atLeast: rules.last)
        var result = [Date?](repeating: nil, count: times.count)
        // Positions newest first, and each calendar rule's bucket ranks, as `apply` walks them.
        var buckets: [[Int]] = Array(repeating: [], count: 5)
        var ranks = [[Int]](repeating: [Int](repeating: 0, count: times.count), count: 5)
        for d in decisions {
            let b = bucketArray(times[d.index])
            for rule in 0..<5 {
                if buckets[rule].last != b[rule] { buckets[rule].append(b[rule]) }
                ranks[rule][d.index] = buckets[rule].count - 1
            }
        }
        let futureBuckets = future.map { bucketArray(Instant($0)) }
        let counts = [rules.hourly, rules.daily, rules.weekly, rules.monthly, rules.yearly]
        for (position, d) in decisions.enumerated() {
            let time = times[d.index]
            if tagged?[d.index] == true {
                result[d.index] = .distantFuture
                continue
            }
            guard d.kept else { continue }
            var until: Date?
            func drop(at index: Int?) {
                let date = index.map { $0 < future.count ? future[$0] : .distantFuture } ?? .distantFuture
                until = max(until ?? date, date)
            }
            if d.matches.rawValue & 1 != 0, let within = rules.within {
                drop(at: future.firstIndex { retention.withinCutoff(latest: Instant($0), within) >= time })
            }
            if d.matches.rawValue & (1 << 1) != 0 { drop(at: rules.last - position - 1) }
            for rule in 0..<5 where d.matches.rawValue & (1 << (rule + 2)) != 0 {
                let own = bucketArray(time)[rule]
                let rank = ranks[rule][d.index]
                if rank == 0, let same = futureBuckets.firstIndex(where: { $0[rule] == own }) {
                    drop(at: same)
                    continue
                }
                // The firing that brings the (N − rank)th bucket newer than every existing one.
                var seen = buckets[rule][0]
                var newer = 0
                var index: Int?
                for (i, b) in futureBuckets.enumerated() where b[rule] != seen && b[rule] != buckets[rule][0] {
                    seen = b[rule]
                    newer += 1
                    if newer >= counts[rule] - rank {
                        index = i
                        break
                    }
                }
                drop(at: index)
            }
            result[d.index] = until
        }
        return result
    }

    /// How far past the newest snapshot the firings can matter: N + 2 buckets of each calendar
    /// rule (its own bucket's rest, N newer ones, a repeated hour), `keep-within` and two days.
    var span: TimeInterval {
        let rules = retention.rules
        let hour = 3600.0
        let day = 86_400.0
        var span = rules.within.map { $0.approximateSeconds + 2 * day } ?? 0
        for (count, length) in [
            (rules.hourly, hour), (rules.daily, day), (rules.weekly, 7 * day), (rules.monthly, 31 * day), (rules.yearly, 366 * day),
        ]
        where count > 0 {
            span = max(span, Double(count + 2) * length)
        }
        return span
    }

    private func bucketArray(_ time: Instant) -> [Int] {
        let b = retention.calendarBuckets(time)
        return [b.0, b.1, b.2, b.3, b.4]
    }

    /// The schedule's firings after `date`, ascending, a day at a time: through `end` and at
    /// least `atLeast` of them, at most `maxFirings`.
    func firings(after date: Date, until end: Date, atLeast: Int = 0) -> [Date] {
        var result: [Date] = []
        var day = CronSchedule.localDay(of: date, in: timeZone) - 1
        var emptyDays = 0
        while result.count < maxFirings && emptyDays < 366 * 5 && (result.count < atLeast || (result.last ?? date) <= end) {
            let found = cron.firings(onDay: day, in: timeZone).filter { $0 > date && $0 > (result.last ?? date) }
            emptyDays = found.isEmpty ? emptyDays + 1 : 0
            result += found
            day += 1
        }
        return Array(result.prefix(maxFirings))
    }
}
