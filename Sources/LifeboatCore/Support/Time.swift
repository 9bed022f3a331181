import Foundation

/// RFC 3339 formatting and parsing in UTC, and the compact form used in snapshot names.
public enum Timestamp {
    /// `2026-11-22T02:00:00Z`, or with fractional seconds when `fractional` is set.
    public static func rfc3339(_ date: Date, fractional: Bool = false) -> String {
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(identifier: "UTC")
        f.formatOptions = fractional ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
        return f.string(from: date)
    }

    /// Parses RFC 3339 with or without fractional seconds; nil when it is not one.
    public static func parse(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: text) { return d }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: text)
    }

    /// `20261122T020000.123456789Z`: unique to the nanosecond, for names of things moved aside.
    public static func compactNanoseconds(_ date: Date = Date()) -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return compact(Date(timeIntervalSince1970: TimeInterval(now.tv_sec))).dropLast() + String(format: ".%09dZ", now.tv_nsec)
    }

    /// `20261122T020000Z`: the time part of a snapshot name.
    public static func compact(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return f.string(from: date)
    }
}
