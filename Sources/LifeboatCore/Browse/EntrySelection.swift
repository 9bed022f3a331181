import Foundation

/// Which entries of a component a partial restore or a dump writes (`--include`, `--exclude`,
/// a `dump` path): those an include pattern covers (every entry, without includes), less those
/// an exclude pattern covers; plus what they need to be recreated: the directories above them
/// and the file a selected hard link is another name of.
public struct EntrySelection: Sendable, Equatable {
    public var include: [EntryPattern]
    public var exclude: [EntryPattern]

    public init(include: [String], exclude: [String]) {
        self.include = include.map(EntryPattern.init)
        self.exclude = exclude.map(EntryPattern.init)
    }

    /// True when it selects every entry.
    public var isEverything: Bool { include.isEmpty && exclude.isEmpty }

    /// The paths (as bytes) of the entries of `entries` it selects; the root entry (`.`) is
    /// selected whenever anything is.
    public func select(_ entries: [EntryRecord]) -> Set<[UInt8]> {
        var chosen = Set<[UInt8]>()
        for entry in entries where !Self.isRoot(entry.name.bytes) {
            let name = entry.name.bytes
            if (include.isEmpty || include.contains { $0.covers(name) }) && !exclude.contains(where: { $0.covers(name) }) {
                chosen.insert(name)
            }
        }
        for entry in entries where entry.kind == .hardlink && chosen.contains(entry.name.bytes) {
            if let target = entry.targetName?.bytes { chosen.insert(target) }
        }
        for name in Array(chosen) {
            var end = name.count
            while let slash = name[..<end].lastIndex(of: 0x2f) {
                chosen.insert(Array(name[..<slash]))
                end = slash
            }
        }
        if !chosen.isEmpty {
            for entry in entries where Self.isRoot(entry.name.bytes) { chosen.insert(entry.name.bytes) }
        }
        return chosen
    }

    /// The entries of `component` it selects; nil when it selects all; an error (exit 2) when it
    /// selects none.
    public func selected(in component: Manifest.Component) throws -> Set<[UInt8]>? {
        guard !isEverything else { return nil }
        let chosen = select(component.entries)
        guard !chosen.isEmpty else { throw nothingSelected(in: component) }
        return chosen
    }

    /// What to say when it selects nothing of `component`.
    public func nothingSelected(in component: Manifest.Component) -> LifeboatError {
        let what = (include.map { "--include \($0)" } + exclude.map { "--exclude \($0)" }).joined(separator: " ")
        return LifeboatError(
            .invalidInput, "\(what) selects none of the \(component.entryCount) entries of \(component.source)",
            fix:
                "patterns match an entry's path (etc/app.yaml) or its base name (app.yaml); `lifeboat ls SNAP --source \(component.source)` lists them"
        )
    }

    static func isRoot(_ name: [UInt8]) -> Bool { name == [0x2e] || name.isEmpty }
}
