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

    /// Which rules kept a snapshot: bit 0 keep-within, bits 1–6 keep-last, -hourly, -daily,
    /// -weekly, -monthly, -yearly (restic's order of reasons).
    public struct Matches: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let emptyPolicy = Matches(rawValue: 1 << 7)
    }

    /// One snapshot's verdict.
    public struct Decision: Sendable {
        /// Index into the input.
        public var index: Int
        /// The rules that keep it; empty when it is removed.
        public var matches: Matches
        public var kept: Bool { !matches.isEmpty }
    }

    static let countReasons = ["last snapshot", "hourly snapshot", "daily snapshot", "weekly snapshot", "monthly snapshot", "yearly snapshot"]

    /// restic's reason texts for `matches`, in restic's order.
    public func reasons(_ matches: Matches) -> [String] {
        if matches.contains(.emptyPolicy) { return ["policy is empty"] }
        var out: [String] = []
        if matches.rawValue & 1 != 0 { out.append("within \(rules.within ?? RetentionDuration())") }
        for rule in 0..<6 where matches.rawValue & (1 << (rule + 1)) != 0 { out.append(Self.countReasons[rule]) }
        return out
    }

    /// Decisions for `times`, newest first. `keep-within` counts back from the newest time, or
    /// from `now` when the newest is later (a snapshot stamped by a clock that ran ahead must not
    /// push every real snapshot out of the window).
    public func apply(_ times: [Instant], now: Instant? = nil) -> [Decision] {
        let order = times.indices.sorted { a, b in
            times[a] != times[b] ? times[b] < times[a] : a < b
        }
        if rules.isEmpty {
            return order.map { Decision(index: $0, matches: .emptyPolicy) }
        }
        guard let newest = order.first else { return [] }
        let reference = now.map { min($0, times[newest]) } ?? times[newest]
        let cutoff = rules.within.flatMap { $0.isZero ? nil : withinCutoff(latest: reference, $0) }
        var counts = (rules.last, rules.hourly, rules.daily, rules.weekly, rules.monthly, rules.yearly)
        var last = (-1, -1, -1, -1, -1, -1)
        let needsCalendar = rules.hourly > 0 || rules.daily > 0 || rules.weekly > 0 || rules.monthly > 0 || rules.yearly > 0
        var decisions: [Decision] = []
        decisions.reserveCapacity(times.count)
        @inline(__always) func take(_ count: inout Int, _ last: inout Int, _ value: Int, _ bit: UInt8, _ mask: inout UInt8) {
            if count > 0 && value != last {
                last = value
                count -= 1
                mask |= bit
            }
        }
        for (position, index) in order.enumerated() {
            let time = times[index]
            var mask: UInt8 = 0
            if let cutoff, cutoff < time { mask |= 1 }
            take(&counts.0, &last.0, position, 1 << 1, &mask)
            if needsCalendar {
                let b = calendarBuckets(time)
                take(&counts.1, &last.1, b.0, 1 << 2, &mask)
                take(&counts.2, &last.2, b.1, 1 << 3, &mask)
                take(&counts.3, &last.3, b.2, 1 << 4, &mask)
                take(&counts.4, &last.4, b.3, 1 << 5, &mask)
                take(&counts.5, &last.5, b.4, 1 << 6, &mask)
            }
            decisions.append(Decision(index: index, matches: Matches(rawValue: mask)))
        }
        return decisions
    }

    /// (YYYYMMDDHH, YYYYMMDD, ISO YYYYWW, YYYYMM, YYYY) of a moment in the calendar in force.
    func calendarBuckets(_ time: Instant) -> (Int, Int, Int, Int, Int) {
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
