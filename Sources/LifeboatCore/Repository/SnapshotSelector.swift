import Foundation

/// How a person names a snapshot on the command line: its name, a prefix of its id, or `latest`.
public struct SnapshotSelector: Sendable, CustomStringConvertible {
    public let text: String
    public init(_ text: String) { self.text = text }
    public var description: String { text }

    /// The one snapshot `text` names among `snapshots` (oldest first).
    public func resolve(in snapshots: [Manifest], source: String? = nil) throws -> Manifest {
        try resolve(in: SnapshotCatalog(snapshots: snapshots), source: source)
    }

    /// The one snapshot `text` names in `catalog`, optionally only those with a component for
    /// `source`. Ambiguity and absence are invalid input, with the choices. A damaged manifest
    /// that `text` names (by id prefix or by the name its bytes claim), or that may be newer than
    /// the newest intact one when `text` is `latest`, is an integrity error naming it: it is
    /// never skipped in favour of an older snapshot.
    public func resolve(in catalog: SnapshotCatalog, source: String? = nil) throws -> Manifest {
        let snapshots = catalog.snapshots
        let candidates = source.map { s in snapshots.filter { $0.component(s) != nil } } ?? snapshots
        let damaged = catalog.damaged.filter { $0.mayHold(source) }
        if text == "latest" {
            let newest = candidates.last
            let blocking = damaged.filter { d in
                guard let newest, let claimed = d.claimedStarted else { return true }
                return claimed >= newest.time
            }
            if !blocking.isEmpty { throw Self.damage(blocking, meaning: "the newest snapshot", fallback: newest) }
            guard let newest else {
                let scope = source.map { " with source \"\($0)\"" } ?? ""
                let known = Array(Set(snapshots.flatMap { $0.components.map(\.source) })).sorted()
                throw LifeboatError(
                    .invalidInput, "the repository has no snapshot\(scope)",
                    fix: source != nil && !known.isEmpty ? "sources in this repository: \(known.joined(separator: ", "))" : nil)
            }
            return newest
        }
        let damagedByName = damaged.filter { $0.claimedName == text }
        if !damagedByName.isEmpty { throw Self.damage(damagedByName, meaning: "\"\(text)\"", fallback: candidates.last) }
        let byName = candidates.filter { $0.name == text }
        if byName.count == 1 { return byName[0] }
        if byName.count > 1 { throw ambiguous(byName) }
        guard text.count >= 4, text.allSatisfy(\.isHexDigit) else {
            if !text.isEmpty, text.allSatisfy(\.isHexDigit), candidates.contains(where: { $0.id.hasPrefix(text.lowercased()) }) {
                throw LifeboatError(
                    .invalidInput, "\"\(text)\" is too short for an id prefix: ids are matched from 4 hex digits",
                    fix: "give at least 4 digits of the id (`lifeboat snapshots` shows 8), or the snapshot's name")
            }
            throw missing(candidates, source: source)
        }
        let prefix = text.lowercased()
        let damagedById = catalog.damaged.filter { $0.id.hasPrefix(prefix) }
        if !damagedById.isEmpty { throw Self.damage(damagedById, meaning: "\"\(text)\"", fallback: nil) }
        let byId = candidates.filter { $0.id.hasPrefix(prefix) }
        if byId.count == 1 { return byId[0] }
        if byId.count > 1 { throw ambiguous(byId) }
        throw missing(candidates, source: source)
    }

    /// The integrity error for damaged manifests a selection may mean, with how to choose
    /// another snapshot explicitly.
    static func damage(_ damaged: [DamagedManifest], meaning: String, fallback: Manifest?) -> LifeboatError {
        let list = damaged.prefix(3).map { "\($0.key) (\($0.error.message))" }.joined(separator: "; ")
        let older = fallback.map { "the newest intact one is \($0.name) (id \($0.id.prefix(8))); name it, or " } ?? ""
        return LifeboatError(
            .integrity, "the manifest of \(meaning) may be damaged: \(list)",
            fix: "\(older)run `lifeboat snapshots` to choose one by name or id; `lifeboat verify` lists every damaged manifest")
    }

    private func ambiguous(_ matches: [Manifest]) -> LifeboatError {
        let list = matches.map { "\($0.id) (\($0.name))" }.joined(separator: ", ")
        return LifeboatError(
            .invalidInput, "\"\(text)\" matches \(matches.count) snapshots: \(list)",
            fix: "name the snapshot by a longer id prefix")
    }

    private func missing(_ candidates: [Manifest], source: String?) -> LifeboatError {
        let scope = source.map { " with source \"\($0)\"" } ?? ""
        let recent = candidates.suffix(5).reversed().map(\.name).joined(separator: ", ")
        let hint = recent.isEmpty ? "the repository has no snapshot\(scope)" : "newest\(scope): \(recent)"
        return LifeboatError(
            .invalidInput, "no snapshot\(scope) is named \"\(text)\" or has an id starting with it",
            fix: "run `lifeboat snapshots` to list them (\(hint)), or use `latest`")
    }
}

extension Repository {
    /// The full manifest (entries included) of the snapshot `text` names — a name, an id prefix
    /// or `latest`, among those with `source` when given — resolved in `catalog` (read now when
    /// nil), as `show`, `ls`, `diff` and `dump` take it.
    public func manifest(named text: String, source: String? = nil, in catalog: SnapshotCatalog? = nil) throws -> Manifest {
        try manifest(id: try SnapshotSelector(text).resolve(in: catalog ?? self.catalog(), source: source).id)
    }
}
