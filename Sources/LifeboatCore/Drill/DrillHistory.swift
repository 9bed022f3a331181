import Foundation

/// The drill reports kept in the repository (`drills/<drill>-<time>.json`), for
/// `lifeboat drills` and the "last successful drill" metric.
public struct DrillHistory {
    public let repository: Repository
    public var directory: String { repository.root + "/drills" }

    public init(repository: Repository) {
        self.repository = repository
    }

    /// Stores `report` durably; returns its path.
    @discardableResult
    public func save(_ report: DrillReport) throws -> String {
        try FileIO.makeDirectory(directory, mode: 0o700)
        let path = "\(directory)/\(report.fileStem).json"
        try FileIO.writeAtomically(try report.json(), to: path, mode: 0o600)
        return path
    }

    /// Every stored report, oldest first (unreadable files are skipped).
    public func all() -> [DrillReport] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let reports = names.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.compactMap { name -> DrillReport? in
            guard let data = FileManager.default.contents(atPath: "\(directory)/\(name)") else { return nil }
            return try? JSONDecoder().decode(DrillReport.self, from: data)
        }
        return reports.sorted { $0.started < $1.started }
    }

    /// When a drill named `drill` last passed its checks and met its objectives.
    public func lastSuccess(of drill: String) -> Date? {
        all().last { $0.drill == drill && $0.checksPassed && $0.objectivesMet }.flatMap { Timestamp.parse($0.started) }
    }
}
