import Foundation

/// The retention engine: decides which snapshots a rule set keeps, exactly as restic 0.14's
/// `forget` does (checked against fixtures produced by restic itself, testdata/retention/).
///
/// Snapshots are ordered newest first (ties keep their input order). `keep-within D` keeps every
/// snapshot strictly after (newest − D). Each count rule walks the list and keeps a snapshot when
/// its bucket (the snapshot itself for keep-last; its hour, day, ISO week, month or year) differs
/// from the previous kept bucket of that rule, until the count is used up. Rules are OR-ed and a
/// kept snapshot lists every rule that kept it. Buckets are computed in `timeZone` when given,
/// else in the UTC offset each timestamp was written with.
public struct Retention: Sendable {
    public var rules: RetentionRules
    public var timeZone: TimeZone?

    public init(rules: RetentionRules, timeZone: TimeZone? = nil) {
        self.rules = rules
        self.timeZone = timeZone
    }

    /// One snapshot's verdict.
    public struct Decision: Sendable {
        /// Index into the input.
        public var index: Int
        /// Why it is kept; empty when it is removed.
        public var reasons: [String]
        public var kept: Bool { !reasons.isEmpty }
    }

    /// Decisions for `times`, newest first.
    public func apply(_ times: [Instant]) -> [Decision] {
        let order = times.indices.sorted { a, b in
            times[a] != times[b] ? times[b] < times[a] : a < b
        }
        if rules.isEmpty {
            return order.map { Decision(index: $0, reasons: ["policy is empty"]) }
        }
        guard let newest = order.first else { return [] }
        let cutoff = rules.within.flatMap { $0.isZero ? nil : withinCutoff(latest: times[newest], $0) }
        let withinReason = rules.within.map { "within \($0)" } ?? ""
        var counts = [rules.last, rules.hourly, rules.daily, rules.weekly, rules.monthly, rules.yearly]
        var lastBucket = [Int](repeating: -1, count: 6)
        let reasons = ["last snapshot", "hourly snapshot", "daily snapshot", "weekly snapshot", "monthly snapshot", "yearly snapshot"]
        let needsCalendar = counts[1...].contains { $0 > 0 }
        var decisions: [Decision] = []
        decisions.reserveCapacity(times.count)
        for (position, index) in order.enumerated() {
            let time = times[index]
            var kept: [String] = []
            if let cutoff, cutoff < time { kept.append(withinReason) }
            let buckets = needsCalendar ? calendarBuckets(time) : (0, 0, 0, 0, 0)
            let values = [position, buckets.0, buckets.1, buckets.2, buckets.3, buckets.4]
            for rule in 0..<6 where counts[rule] > 0 && values[rule] != lastBucket[rule] {
                lastBucket[rule] = values[rule]
                counts[rule] -= 1
                kept.append(reasons[rule])
            }
            decisions.append(Decision(index: index, reasons: kept))
        }
        return decisions
    }

    /// (YYYYMMDDHH, YYYYMMDD, ISO YYYYWW, YYYYMM, YYYY) of a moment in the calendar in force.
    private func calendarBuckets(_ time: Instant) -> (Int, Int, Int, Int, Int) {
        let (days, secondOfDay) = CivilTime.split(time.seconds + Int64(offset(of: time)))
        let (y, m, d) = CivilTime.civil(days)
        let (wy, w) = CivilTime.isoWeek(days)
        let hour = secondOfDay / 3600
        return (y * 1_000_000 + m * 10_000 + d * 100 + hour, y * 10_000 + m * 100 + d, wy * 100 + w, y * 100 + m, y)
    }

    private func offset(of time: Instant) -> Int {
        guard let timeZone else { return Int(time.offset) }
        return timeZone.secondsFromGMT(for: time.date)
    }

    /// `latest.AddDate(-y, -m, -d).Add(-h hours)` in the calendar in force, as Go computes it.
    func withinCutoff(latest: Instant, _ span: RetentionDuration) -> Instant {
        let offset = Int64(offset(of: latest))
        let (days, secondOfDay) = CivilTime.split(latest.seconds + offset)
        let (y, m, d) = CivilTime.civil(days)
        let shiftedDays = CivilTime.days(year: y - span.years, month: m - span.months, day: d - span.days)
        let local = Int64(shiftedDays) * 86_400 + Int64(secondOfDay)
        var seconds = local - offset
        if let timeZone {  // the shifted wall time may have another offset (DST)
            let guess = Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(local - offset))))
            seconds = local - guess
        }
        return Instant(seconds: seconds - Int64(span.hours) * 3600, nanoseconds: latest.nanoseconds, offset: latest.offset)
    }
}
