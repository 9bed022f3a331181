/// How a person names a snapshot on the command line: its name, a prefix of its id, or `latest`.
public struct SnapshotSelector: Sendable, CustomStringConvertible {
    public let text: String
    public init(_ text: String) { self.text = text }
    public var description: String { text }

    /// The one snapshot `text` names among `snapshots` (oldest first), optionally only those
    /// with a component for `source`. Ambiguity and absence are invalid input, with the choices.
    public func resolve(in snapshots: [Manifest], source: String? = nil) throws -> Manifest {
        let candidates = source.map { s in snapshots.filter { $0.component(s) != nil } } ?? snapshots
        if text == "latest" {
            guard let newest = candidates.last else {
                let scope = source.map { " with source \"\($0)\"" } ?? ""
                throw LifeboatError(.invalidInput, "the repository has no snapshot\(scope)")
            }
            return newest
        }
        let byName = candidates.filter { $0.name == text }
        if byName.count == 1 { return byName[0] }
        if byName.count > 1 { throw ambiguous(byName) }
        guard text.count >= 4, text.allSatisfy(\.isHexDigit) else { throw missing(candidates, source: source) }
        let byId = candidates.filter { $0.id.hasPrefix(text.lowercased()) }
        if byId.count == 1 { return byId[0] }
        if byId.count > 1 { throw ambiguous(byId) }
        throw missing(candidates, source: source)
    }

    private func ambiguous(_ matches: [Manifest]) -> LifeboatError {
        let list = matches.map { "\($0.id) (\($0.name))" }.joined(separator: ", ")
        return LifeboatError(.invalidInput, "\"\(text)\" matches \(matches.count) snapshots: \(list)",
                             fix: "name the snapshot by a longer id prefix")
    }

    private func missing(_ candidates: [Manifest], source: String?) -> LifeboatError {
        let scope = source.map { " with source \"\($0)\"" } ?? ""
        let recent = candidates.suffix(5).reversed().map(\.name).joined(separator: ", ")
        let hint = recent.isEmpty ? "the repository has no snapshot\(scope)" : "newest\(scope): \(recent)"
        return LifeboatError(.invalidInput, "no snapshot\(scope) is named \"\(text)\" or has an id starting with it",
                             fix: "run `lifeboat snapshots` to list them (\(hint)), or use `latest`")
    }
}
