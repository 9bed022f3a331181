/// An entry path proven to stay inside a restore target: relative, no `..`, no empty or NUL
/// components. `.` components are dropped; the root entry is the empty path.
public struct SafePath: Sendable, Equatable, CustomStringConvertible {
    /// The components, none of them `.`, `..` or empty.
    public let components: [String]

    /// Validates `raw` as stored in an archive; throws `.integrity` for an escaping path.
    public init(_ raw: String) throws {
        guard !raw.contains("\0") else { throw LifeboatError(.integrity, "entry path contains a NUL byte: \(raw.debugDescription)") }
        guard !raw.hasPrefix("/") else {
            throw LifeboatError(.integrity, "entry \"\(raw)\" has an absolute path and would land outside the target; refused")
        }
        var parts: [String] = []
        for part in raw.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            guard part != ".." else {
                throw LifeboatError(.integrity, "entry \"\(raw)\" contains \"..\" and could land outside the target; refused")
            }
            parts.append(String(part))
        }
        components = parts
    }

    /// True for the root entry (`.`).
    public var isRoot: Bool { components.isEmpty }

    /// The path relative to the target, `.` for the root.
    public var description: String { isRoot ? "." : components.joined(separator: "/") }

    /// The path under `base`.
    public func under(_ base: String) -> String {
        isRoot ? base : base + "/" + components.joined(separator: "/")
    }
}
