import Foundation

/// The drill reports kept in the repository (`drills/<drill>-<time>.json`), for
/// `lifeboat drills` and the "last successful drill" metric.
public struct DrillHistory {
    public let repository: Repository

    public init(repository: Repository) {
        self.repository = repository
    }

    /// Stores `report` durably; returns where.
    @discardableResult
    public func save(_ report: DrillReport) throws -> String {
        let key = "drills/\(report.fileStem).json"
        try repository.storage.put(key, try report.json())
        return "\(repository.location)/\(key)"
    }

    /// Every stored report, oldest first (unreadable files are skipped).
    public func all() -> [DrillReport] {
        let keys = ((try? repository.storage.list("drills/")) ?? []).map(\.key).filter { $0.hasSuffix(".json") }
        let reports = keys.compactMap { key -> DrillReport? in
            guard let data = try? repository.storage.get(key) else { return nil }
            return try? JSONDecoder().decode(DrillReport.self, from: Data(data))
        }
        return reports.sorted { $0.started < $1.started }
    }

    /// When a drill named `drill` last passed its checks and met its objectives.
    public func lastSuccess(of drill: String) -> Date? {
        all().last { $0.drill == drill && $0.checksPassed && $0.objectivesMet }.flatMap { Timestamp.parse($0.started) }
    }
}
