import Foundation

/// A 5-field cron expression (minute hour day-of-month month day-of-week) with ranges, steps,
/// lists, month and day names, and the `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`
/// macros. Day-of-month and day-of-week combine as in Vixie cron: when both fields are restricted
/// (neither starts with `*`), a day matches if either does; otherwise both must match, so a
/// stepped star such as `*/2` still selects its days.
public struct CronSchedule: Sendable, Equatable, CustomStringConvertible {
    public let expression: String
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    /// 0 = Sunday … 6 = Saturday.
    let daysOfWeek: Set<Int>
    let domRestricted: Bool
    let dowRestricted: Bool

    public var description: String { expression }

    static let macros = [
        "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
        "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
    ]
    static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    /// A parse failure: what is wrong, and the 0-based character offset in the expression.
    public struct ParseError: Error, Sendable {
        public var message: String
        public var offset: Int
        public var fix: String
    }

    /// Parses `text`; throws `ParseError` pointing at the offending field.
    public init(parsing text: String) throws {
        expression = text
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let body: String
        if trimmed.hasPrefix("@") {
            guard let expansion = Self.macros[trimmed.lowercased()] else {
                throw ParseError(
                    message: "unknown cron macro \"\(trimmed)\"", offset: 0,
                    fix: "use one of @hourly, @daily, @weekly, @monthly, @yearly, or 5 fields")
            }
            body = expansion
        } else {
            body = text
        }
        var fields: [(text: Substring, offset: Int)] = []
        var index = body.startIndex
        while index < body.endIndex {
            while index < body.endIndex && (body[index] == " " || body[index] == "\t") { index = body.index(after: index) }
            guard index < body.endIndex else { break }
            let start = index
            while index < body.endIndex && body[index] != " " && body[index] != "\t" { index = body.index(after: index) }
            fields.append((body[start..<index], body.distance(from: body.startIndex, to: start)))
        }
        guard fields.count == 5 else {
            throw ParseError(
                message: "cron expression \"\(text)\" has \(fields.count) field\(fields.count == 1 ? "" : "s"); it needs 5",
                offset: 0, fix: "write minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\" (daily at 02:00)")
        }
        let isMacro = body != text
        func parse(_ i: Int, _ name: String, _ range: ClosedRange<Int>, names: [String] = [], nameBase: Int = 0) throws -> Set<Int> {
            do {
                return try Self.field(fields[i].text, range: range, names: names, nameBase: nameBase)
            } catch let message as FieldError {
                throw ParseError(
                    message: "cron \(name) field \"\(fields[i].text)\": \(message.text)",
                    offset: isMacro ? 0 : fields[i].offset,
                    fix:
                        "\(name) takes \(range.lowerBound)–\(range.upperBound)\(names.isEmpty ? "" : " or names like \(names[0])"), with *, lists (1,2), ranges (1-5) and steps (*/15)"
                )
            }
        }
        minutes = try parse(0, "minute", 0...59)
        hours = try parse(1, "hour", 0...23)
        daysOfMonth = try parse(2, "day-of-month", 1...31)
        months = try parse(3, "month", 1...12, names: Self.monthNames, nameBase: 1)
        daysOfWeek = Set(try parse(4, "day-of-week", 0...7, names: Self.dayNames).map { $0 % 7 })
        domRestricted = !fields[2].text.hasPrefix("*")
        dowRestricted = !fields[4].text.hasPrefix("*")
    }

    struct FieldError: Error { var text: String }

    static func field(_ text: Substring, range: ClosedRange<Int>, names: [String], nameBase: Int) throws -> Set<Int> {
        var values = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw FieldError(text: "empty list item") }
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw FieldError(text: "more than one \"/\" in \"\(part)\"") }
            var step = 1
            if pieces.count == 2 {
                guard let s = Int(pieces[1]), s > 0 else { throw FieldError(text: "step \"\(pieces[1])\" must be a positive number") }
                step = s
            }
            var low = range.lowerBound
            var high = range.upperBound
            if pieces[0] != "*" {
                let bounds = pieces[0].split(separator: "-", omittingEmptySubsequences: false)
                guard bounds.count <= 2 else { throw FieldError(text: "bad range \"\(pieces[0])\"") }
                low = try value(bounds[0], range: range, names: names, nameBase: nameBase)
                high =
                    bounds.count == 2
                    ? try value(bounds[1], range: range, names: names, nameBase: nameBase) : (pieces.count == 2 ? range.upperBound : low)
                guard low <= high else { throw FieldError(text: "range \(low)-\(high) runs backwards") }
            }
            values.formUnion(stride(from: low, through: high, by: step))
        }
        return values
    }

    static func value(_ text: Substring, range: ClosedRange<Int>, names: [String], nameBase: Int) throws -> Int {
        if let n = Int(text) {
            guard range.contains(n) else { throw FieldError(text: "\(n) is out of range \(range.lowerBound)–\(range.upperBound)") }
            return n
        }
        if let i = names.firstIndex(of: text.lowercased()) { return i + nameBase }
        throw FieldError(text: "\"\(text)\" is not a number\(names.isEmpty ? "" : " or a name")")
    }

    /// Whether the schedule fires at this local wall-clock minute.
    func matches(year: Int, month: Int, day: Int, hour: Int, minute: Int) -> Bool {
        guard minutes.contains(minute), hours.contains(hour), months.contains(month) else { return false }
        return matchesDay(year: year, month: month, day: day)
    }

    func matchesDay(year: Int, month: Int, day: Int) -> Bool {
        guard months.contains(month) else { return false }
        let weekday = ((CivilTime.days(year: year, month: month, day: day) + 4) % 7 + 7) % 7  // 0 = Sunday
        let dom = daysOfMonth.contains(day)
        let dow = daysOfWeek.contains(weekday)
        return domRestricted && dowRestricted ? dom || dow : dom && dow
    }

    /// Whether the schedule can fire at all: some day in a 400-year Gregorian cycle matches
    /// (`0 0 31 2 *` never does).
    public var canFire: Bool {
        let start = CivilTime.days(year: 2000, month: 1, day: 1)
        for day in start..<(start + 146_097) {
            let (y, m, d) = CivilTime.civil(day)
            if matchesDay(year: y, month: m, day: d) { return true }
        }
        return false
    }

    /// The latest firing at or before `date`, in `timeZone`; nil if none in the last 5 years
    /// (e.g. `0 0 31 2 *`).
    public func previousFiring(atOrBefore date: Date, in timeZone: TimeZone) -> Date? {
        let today = Self.localDay(of: date, in: timeZone)
        var best: Date?
        var lastDay = today - 366 * 5
        // A day's firings may spill into the next or previous day across a DST change, so the
        // scan goes one day past the first day that has an answer.
        for dayNumber in stride(from: today + 1, through: lastDay, by: -1) {
            if let found = firings(onDay: dayNumber, in: timeZone).last(where: { $0 <= date }) {
                if best == nil { lastDay = dayNumber - 1 }
                best = max(best ?? found, found)
            }
            if dayNumber <= lastDay { break }
        }
        return best
    }

    /// The first firing after `date`, in `timeZone`; nil if none in the next 5 years.
    public func nextFiring(after date: Date, in timeZone: TimeZone) -> Date? {
        let today = Self.localDay(of: date, in: timeZone)
        var best: Date?
        var lastDay = today + 366 * 5
        for dayNumber in (today - 1)...lastDay {
            if let found = firings(onDay: dayNumber, in: timeZone).first(where: { $0 > date }) {
                if best == nil { lastDay = dayNumber + 1 }
                best = min(best ?? found, found)
            }
            if dayNumber >= lastDay { break }
        }
        return best
    }

    /// The next `count` firings after `date` (`lifeboat schedules`).
    public func nextFirings(after date: Date, count: Int, in timeZone: TimeZone) -> [Date] {
        var result: [Date] = []
        var from = date
        while result.count < count, let next = nextFiring(after: from, in: timeZone) {
            result.append(next)
            from = next
        }
        return result
    }

    /// The instants at which the schedule fires on a local calendar day, ascending. A time that
    /// occurs twice (the hour repeated when clocks go back) fires at its first occurrence only,
    /// unless the schedule runs every hour (hour field `*`), which fires in both, so an hourly
    /// backup stays hourly. A time that does not exist (the hour skipped when clocks go forward)
    /// fires as far after the change as it lay after the skipped hour's start (02:30 becomes
    /// 03:30), as ISO 8601 libraries resolve a gap. Two wall times that resolve to the same
    /// instant fire once.
    func firings(onDay dayNumber: Int, in timeZone: TimeZone) -> [Date] {
        let (y, m, d) = CivilTime.civil(dayNumber)
        guard matchesDay(year: y, month: m, day: d) else { return [] }
        // No change of offset within a day either side: every wall time is one instant (the
        // common case, and three time-zone lookups a day instead of three per firing).
        let dayStart = Int64(dayNumber) * 86_400
        let offsets = [dayStart - 86_400, dayStart + 43_200, dayStart + 2 * 86_400].map {
            timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double($0)))
        }
        if offsets.allSatisfy({ $0 == offsets[0] }) {
            return hours.sorted().flatMap { h in
                minutes.sorted().map { mi in Date(timeIntervalSince1970: Double(dayStart + Int64(h * 3600 + mi * 60) - Int64(offsets[0]))) }
            }
        }
        var instants: [Date] = []
        for h in hours.sorted() {
            for mi in minutes.sorted() {
                let resolved = Self.instants(wall: Int64(dayNumber) * 86_400 + Int64(h * 3600 + mi * 60), in: timeZone)
                instants.append(contentsOf: hours.count == 24 ? resolved : [resolved[0]])
            }
        }
        return Array(Set(instants)).sorted()
    }

    /// The instants of a local wall-clock time (seconds since 1970-01-01 00:00 local), ascending:
    /// one, two in a repeated hour, or for a skipped time the one `firings(onDay:in:)` describes.
    static func instants(wall: Int64, in timeZone: TimeZone) -> [Date] {
        // The offsets in force a day either side cover any change near this wall time.
        let before = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(wall - 86_400)))
        let after = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(wall + 86_400)))
        let valid = Set([before, after, timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(wall)))])
            .map { Date(timeIntervalSince1970: Double(wall - Int64($0))) }
            .filter { Int64(timeZone.secondsFromGMT(for: $0)) == wall - Int64($0.timeIntervalSince1970) }
        if !valid.isEmpty { return valid.sorted() }
        return [Date(timeIntervalSince1970: Double(wall - Int64(before)))]
    }

    /// The local day number of an instant.
    static func localDay(of date: Date, in timeZone: TimeZone) -> Int {
        let local = Int64(date.timeIntervalSince1970.rounded(.down)) + Int64(timeZone.secondsFromGMT(for: date))
        return CivilTime.split(local).days
    }
}
