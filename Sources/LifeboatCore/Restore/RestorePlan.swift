/// What a restore will do, decided before anything is written; shown by `restore --dry-run`.
public struct RestorePlan: Codable, Sendable {
    public var snapshot: String
    public var id: String
    public var source: String
    public var type: String
    public var file: String
    public var storedBytes: Int64
    public var contentBytes: Int64
    public var entries: Int
    public var target: String?
    public var recoveryPoint: String

    enum CodingKeys: String, CodingKey {
        case snapshot, id, source, type, file, entries, target
        case storedBytes = "stored_bytes"
        case contentBytes = "content_bytes"
        case recoveryPoint = "recovery_point"
    }

    /// Plans restoring `source` from the snapshot `selector` names in `repository`.
    public static func make(repository: Repository, selector: SnapshotSelector, source: String?,
                            target: String?) throws -> (RestorePlan, Manifest) {
        let snapshots = repository.loadSnapshots().snapshots
        let manifest = try repository.manifest(id: try selector.resolve(in: snapshots, source: source).id)
        let component: Manifest.Component
        if let source {
            guard let found = manifest.component(source) else {
                throw LifeboatError(.invalidInput, "snapshot \(manifest.name) has no source \"\(source)\"",
                                    fix: "sources in it: \(manifest.components.map(\.source).joined(separator: ", "))")
            }
            component = found
        } else if manifest.components.count == 1 {
            component = manifest.components[0]
        } else {
            throw LifeboatError(.invalidInput, "snapshot \(manifest.name) has several sources",
                                fix: "name one with --source: \(manifest.components.map(\.source).joined(separator: ", "))")
        }
        guard SourceAdapters.named(component.type) != nil else {
            throw LifeboatError(.invalidInput, "source \"\(component.source)\" is of type \(component.type), which this build cannot restore")
        }
        let plan = RestorePlan(snapshot: manifest.name, id: manifest.id, source: component.source, type: component.type,
                               file: component.file, storedBytes: component.bytes, contentBytes: component.contentBytes,
                               entries: component.entries.count, target: target, recoveryPoint: manifest.recoveryPoint)
        return (plan, manifest)
    }
}
