/// An entry path proven to stay inside a restore target: relative, no `..`, no empty or NUL
/// components. `.` components are dropped; the root entry is the empty path. Components are
/// bytes (names need not be UTF-8).
public struct SafePath: Sendable, Equatable, CustomStringConvertible {
    /// The components' bytes, none of them `.`, `..` or empty.
    public let componentBytes: [[UInt8]]

    /// The components for people (invalid UTF-8 escaped).
    public var components: [String] { componentBytes.map { EntryName(bytes: $0).text } }

    /// Validates `raw` as stored in an archive; throws `.integrity` for an escaping path.
    public init(_ raw: String) throws {
        try self.init(EntryName(raw))
    }

    /// Validates a stored name's bytes; throws `.integrity` for an escaping path.
    public init(_ name: EntryName) throws {
        let raw = name.bytes
        guard !raw.contains(0) else { throw LifeboatError(.integrity, "entry path contains a NUL byte: \(name.text.debugDescription)") }
        guard raw.first != 0x2f else {
            throw LifeboatError(.integrity, "entry \"\(name)\" has an absolute path and would land outside the target; refused")
        }
        var parts: [[UInt8]] = []
        for part in raw.split(separator: 0x2f, omittingEmptySubsequences: true) {
            if part.elementsEqual([0x2e]) { continue }
            guard !part.elementsEqual([0x2e, 0x2e]) else {
                throw LifeboatError(.integrity, "entry \"\(name)\" contains \"..\" and could land outside the target; refused")
            }
            parts.append(Array(part))
        }
        componentBytes = parts
    }

    /// True for the root entry (`.`).
    public var isRoot: Bool { componentBytes.isEmpty }

    /// The path relative to the target, `.` for the root.
    public var description: String { isRoot ? "." : components.joined(separator: "/") }

    /// The path under `base` (for names that are UTF-8; see `bytes(under:)` for any name).
    public func under(_ base: String) -> String {
        isRoot ? base : base + "/" + components.joined(separator: "/")
    }

    /// The path relative to the target as bytes, `/`-separated (empty for the root): the key under
    /// which a restore and its checks know an entry.
    public var relativeBytes: [UInt8] { Array(componentBytes.joined(separator: [0x2f])) }

    /// The path under `base`, as bytes.
    public func bytes(under base: String) -> [UInt8] {
        componentBytes.reduce(Array(base.utf8)) { $0 + [0x2f] + $1 }
    }
}
