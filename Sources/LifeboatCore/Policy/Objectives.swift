/// What recovery a source promises: the most data that may be lost (RPO) and the longest a
/// restore may take (RTO). Drills measure against these.
public struct Objectives: Sendable, Equatable {
    /// Recovery point objective, in seconds.
    public var rpo: Double?
    /// Recovery time objective, in seconds.
    public var rto: Double?

    public init(rpo: Double? = nil, rto: Double? = nil) {
        self.rpo = rpo
        self.rto = rto
    }

    public static let keys = ["rpo", "rto"]

    /// Parses a wall-clock duration: `90s`, `15m`, `1h30m`, `2d` (s, m = minutes, h, d).
    public static func seconds(parsing text: String) -> Double? {
        var total = 0.0
        var number = ""
        var sawUnit = false
        for c in text {
            if c.isASCII && (c.isNumber || c == ".") {
                number.append(c)
                continue
            }
            guard let n = Double(number) else { return nil }
            switch c {
            case "s": total += n
            case "m": total += n * 60
            case "h": total += n * 3600
            case "d": total += n * 86_400
            default: return nil
            }
            number = ""
            sawUnit = true
        }
        return number.isEmpty && sawUnit && total <= maxSeconds ? total : nil
    }

    /// The longest duration accepted anywhere (1000 years): beyond it a value is a typo, and
    /// bounding it keeps every conversion to whole seconds from trapping.
    public static let maxSeconds = 1000.0 * 366 * 86_400
}
