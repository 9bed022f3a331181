import Foundation

/// Which archived WAL retention may remove: segments (and backup history files) that lie before
/// the first segment of the oldest base backup any snapshot still holds. Timeline history files
/// are always kept, and with no base backup in the repository no WAL is removed at all.
/// Also lists temporaries of interrupted pushes older than an hour (a push in flight is younger).
struct WALExpiry {
    let repository: Repository

    /// Paths relative to the repository root.
    func expired() -> [String] {
        let archive = WALArchive(repository: repository)
        guard FileIO.exists(archive.directory) else { return [] }
        var paths: [String] = []
        let starts = repository.loadSnapshots().snapshots.flatMap(\.components)
            .filter { $0.type == PostgresAdapter.type && $0.metadata["mode"]?.stringValue == "physical" }
            .compactMap { $0.metadata["start_wal"]?.stringValue.flatMap(WALArchive.position(of:)) }
        if let oldest = starts.min() {
            for file in archive.all() {
                guard let position = WALArchive.position(of: file.name), position < oldest else { continue }
                paths.append(String(file.path.dropFirst(repository.root.count + 1)))
            }
        }
        let fm = FileManager.default
        let hourAgo = Date().addingTimeInterval(-3600)
        for folder in (try? fm.contentsOfDirectory(atPath: archive.directory)) ?? [] where folder.count == 8 {
            for name in (try? fm.contentsOfDirectory(atPath: "\(archive.directory)/\(folder)")) ?? []
            where name.hasPrefix(".") && name.hasSuffix(".tmp") {
                let path = "\(archive.directory)/\(folder)/\(name)"
                if let modified = (try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date, modified < hourAgo {
                    paths.append("wal/\(folder)/\(name)")
                }
            }
        }
        return paths.sorted()
    }
}
