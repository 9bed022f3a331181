/// Proleptic Gregorian calendar arithmetic on day numbers (days since 1970-01-01), after
/// Howard Hinnant's `days_from_civil`/`civil_from_days`: exact, allocation-free, and fast enough
/// for a million timestamps.
public enum CivilTime {
    /// Day number of year-month-day; month may be any integer (normalised like Go's `time.Date`).
    public static func days(year: Int, month: Int, day: Int) -> Int {
        var y = year
        var m = month - 1
        y += m >= 0 ? m / 12 : (m - 11) / 12
        m = ((m % 12) + 12) % 12 + 1
        y -= m <= 2 ? 1 : 0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (m + 9) % 12
        let doy = (153 * mp + 2) / 5
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468 + (day - 1)
    }

    /// Year, month (1–12) and day of a day number.
    public static func civil(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// ISO 8601 week-numbering year and week (weeks start on Monday; week 1 holds a Thursday).
    public static func isoWeek(_ days: Int) -> (year: Int, week: Int) {
        let weekday = ((days + 3) % 7 + 7) % 7  // 0 = Monday (1970-01-01 was a Thursday)
        let thursday = days - weekday + 3
        let year = civil(thursday).year
        let week = (thursday - Self.days(year: year, month: 1, day: 1)) / 7 + 1
        return (year, week)
    }

    /// Floor division of seconds into (day number, seconds of day).
    public static func split(_ seconds: Int64) -> (days: Int, secondOfDay: Int) {
        let d = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        return (Int(d), Int(seconds - d * 86_400))
    }
}
