import Foundation

/// Finds what interrupted runs leave behind: files in `tmp/`, half-written manifests in
/// `snapshots/`, and stored data that no manifest references. Garbage is never corruption.
public struct GarbageScan {
    public let repository: Repository

    public init(repository: Repository) {
        self.repository = repository
    }

    /// Paths relative to the repository root, sorted.
    public func run() -> [String] {
        let fm = FileManager.default
        var garbage: [String] = []
        for name in (try? fm.contentsOfDirectory(atPath: repository.tempDirectory)) ?? [] {
            garbage.append("tmp/\(name)")
        }
        for name in (try? fm.contentsOfDirectory(atPath: repository.snapshotsDirectory)) ?? [] where name.hasPrefix(".") {
            garbage.append("snapshots/\(name)")
        }
        let referencedIds = Set(repository.manifestFiles().map { String($0.dropLast(".json".count)) })
        for id in (try? fm.contentsOfDirectory(atPath: repository.dataDirectory)) ?? [] where !referencedIds.contains(id) {
            garbage.append("data/\(id)/")
        }
        return garbage.sorted()
    }
}
