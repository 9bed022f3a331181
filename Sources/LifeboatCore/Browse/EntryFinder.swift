import Foundation

extension Manifest {
    /// The components `ls`, `diff` and `dump` read: `source`'s, or all; a source the snapshot
    /// lacks is exit 2 naming those it has.
    public func components(for source: String?) throws -> [Component] {
        guard let source else { return components }
        guard let component = component(source) else {
            throw LifeboatError(
                .invalidInput, "snapshot \(name) has no source \"\(source)\"",
                fix: "sources in it: \(components.map(\.source).joined(separator: ", "))")
        }
        return [component]
    }
}

/// `lifeboat find`: the entries matching any of the patterns, across snapshots, oldest first.
/// Each snapshot's entries are read from its manifest (format 2: its entry lists, through one
/// chunk store whose index is read once).
public struct EntryFinder {
    public let repository: Repository
    public let patterns: [EntryPattern]

    public init(repository: Repository, patterns: [String]) {
        self.repository = repository
        self.patterns = patterns.map(EntryPattern.init)
    }

    public func find(in snapshots: [Manifest], source: String?, progress: ProgressLine) throws -> [ListedEntry] {
        let store = repository.config.format == 2 ? try ChunkStore(repository: repository) : nil
        var found: [ListedEntry] = []
        for (i, summary) in snapshots.enumerated() {
            progress.update("find: snapshot \(i + 1) of \(snapshots.count), \(found.count) found")
            let manifest = try repository.manifest(id: summary.id, store: store)
            for component in manifest.components where source == nil || component.source == source {
                for entry in component.entries where !EntrySelection.isRoot(entry.name.bytes) {
                    if patterns.contains(where: { $0.matches(entry.name.bytes) }) {
                        found.append(ListedEntry(entry, source: component.source, snapshot: manifest.name))
                    }
                }
            }
        }
        progress.clear()
        return found
    }
}
