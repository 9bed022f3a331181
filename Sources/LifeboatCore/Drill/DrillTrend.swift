import Foundation

/// One earlier drill of the same plan, as a report carries it for its trend: when it ran, what
/// it measured per source, and whether it passed. A report carries the last `DrillTrend.depth`
/// of them (oldest first), so the trend is in the report handed over, covered by its checksum.
public struct DrillTrendPoint: Codable, Sendable, Equatable {
    public var started: String
    public var rtoSeconds: Double?
    public var rpoSeconds: Double?
    public var objectivesMet: Bool
    public var checksPassed: Bool
    public var sources: [String: Figures]

    public struct Figures: Codable, Sendable, Equatable {
        public var rtoSeconds: Double?
        public var rpoSeconds: Double?
        enum CodingKeys: String, CodingKey {
            case rtoSeconds = "rto_seconds"
            case rpoSeconds = "rpo_seconds"
        }
    }

    enum CodingKeys: String, CodingKey {
        case started, sources
        case rtoSeconds = "rto_seconds"
        case rpoSeconds = "rpo_seconds"
        case objectivesMet = "objectives_met"
        case checksPassed = "checks_passed"
    }

    public init(_ report: DrillReport) {
        started = report.started
        rtoSeconds = report.rtoSeconds
        rpoSeconds = report.rpoSeconds
        objectivesMet = report.objectivesMet
        checksPassed = report.checksPassed
        sources = Dictionary(
            report.sources.map { ($0.source, Figures(rtoSeconds: $0.rtoSeconds, rpoSeconds: $0.rpoSeconds)) }, uniquingKeysWith: { a, _ in a })
    }
}

/// The trend of a drill plan: its earlier drills from the repository's drill history.
public enum DrillTrend {
    /// How many earlier drills a report carries.
    public static let depth = 10

    /// The last `depth` drills named `drill` that started before `started`, oldest first.
    public static func previous(of drill: String, before started: String, in history: [DrillReport]) -> [DrillTrendPoint] {
        history.filter { $0.drill == drill && $0.started < started }.suffix(depth).map(DrillTrendPoint.init)
    }

    /// `value` against `previous`: "+0.3 s", "−1.2 s", or nil when either is unknown.
    static func change(_ value: Double?, from previous: Double?) -> String? {
        guard let value, let previous else { return nil }
        let delta = value - previous
        let magnitude = DrillReportRenderer.seconds(abs(delta))
        return abs(delta) < 0.05 ? "±0.0 s" : (delta > 0 ? "+" : "−") + magnitude
    }

    /// `value` against `objective`: "42% of the objective", "MISSED (130%)", nil if either unknown.
    static func share(_ value: Double?, of objective: Double?) -> String? {
        guard let value, let objective, objective > 0 else { return nil }
        let percent = Int((value / objective * 100).rounded())
        return value <= objective ? "\(percent)% of the objective" : "**missed: \(percent)% of the objective**"
    }
}
