/// A `keep-within` span in calendar units, as restic writes it: `36h`, `2d`, `1y2m`, `3m10d5h`.
/// Years, months and days are calendar steps (Go's `AddDate`), hours are exact.
public struct RetentionDuration: Sendable, Equatable, CustomStringConvertible {
    public var years = 0
    public var months = 0
    public var days = 0
    public var hours = 0

    public init(years: Int = 0, months: Int = 0, days: Int = 0, hours: Int = 0) {
        self.years = years
        self.months = months
        self.days = days
        self.hours = hours
    }

    /// Parses `<n><unit>…` with units y, m, d, h; throws `.invalidInput` with the fix.
    public init(parsing text: String) throws {
        let fix = "write a number followed by a unit, units y (years), m (months), d (days), h (hours), e.g. 36h, 2d, 1y2m"
        guard !text.isEmpty else { throw LifeboatError(.invalidInput, "empty duration", fix: fix) }
        var number = ""
        for c in text {
            if c.isASCII && c.isNumber {
                number.append(c)
                continue
            }
            guard let n = Int(number) else {
                throw LifeboatError(.invalidInput, "invalid duration \"\(text)\": expected a number before \"\(c)\"", fix: fix)
            }
            let limit: Int
            switch c {
            case "y":
                years = n
                limit = Self.maxYears
            case "m":
                months = n
                limit = Self.maxYears * 12
            case "d":
                days = n
                limit = Self.maxYears * 366
            case "h":
                hours = n
                limit = Self.maxYears * 366 * 24
            default: throw LifeboatError(.invalidInput, "invalid duration \"\(text)\": unknown unit \"\(c)\"", fix: fix)
            }
            guard n <= limit else {
                throw LifeboatError(
                    .invalidInput, "duration \"\(text)\" is too long: \(n)\(c) is more than \(Self.maxYears) years",
                    fix: "keep-within takes at most \(Self.maxYears)y (\(limit)\(c))")
            }
            number = ""
        }
        guard number.isEmpty else {
            throw LifeboatError(.invalidInput, "invalid duration \"\(text)\": no unit after \(number)", fix: fix)
        }
    }

    /// The longest span accepted, in years (each unit is bounded to the same span, so calendar
    /// arithmetic on it can never overflow).
    public static let maxYears = 1000

    public var isZero: Bool { years == 0 && months == 0 && days == 0 && hours == 0 }

    /// restic's rendering, used in keep reasons: `within 1y2m`.
    public var description: String {
        var s = ""
        if years != 0 { s += "\(years)y" }
        if months != 0 { s += "\(months)m" }
        if days != 0 { s += "\(days)d" }
        if hours != 0 { s += "\(hours)h" }
        return s
    }

    /// Approximate length in seconds (a year is 365 days, a month 30): for RPO-style comparisons.
    public var approximateSeconds: Double {
        Double(((years * 365 + months * 30 + days) * 24 + hours) * 3600)
    }
}
