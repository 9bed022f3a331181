import Foundation

/// A glob as `exclude:`, `find` and `restore --include/--exclude` take it: fnmatch(3), matched on
/// an entry's relative path and on its base name, so `*.yaml` finds a file at any depth and
/// `etc/app/*.yaml` only there. A pattern that matches a directory covers what is below it.
public struct EntryPattern: Sendable, Equatable, CustomStringConvertible {
    public let text: String
    public var description: String { text }

    public init(_ text: String) {
        // "etc/app/" and "./etc/app" name the same entry as "etc/app".
        var text = text
        while text.hasPrefix("./") { text.removeFirst(2) }
        while text.count > 1 && text.hasSuffix("/") { text.removeLast() }
        self.text = text
    }

    /// Whether the entry named `name` (relative path bytes) matches, by its path or its base name.
    public func matches(_ name: [UInt8]) -> Bool {
        if Self.fnmatch(text, name) { return true }
        guard let slash = name.lastIndex(of: 0x2f) else { return false }
        return Self.fnmatch(text, Array(name[(slash + 1)...]))
    }

    /// Whether the entry or one of the directories above it matches.
    public func covers(_ name: [UInt8]) -> Bool {
        if matches(name) { return true }
        var end = name.count
        while let slash = name[..<end].lastIndex(of: 0x2f) {
            if Self.fnmatch(text, Array(name[..<slash])) { return true }
            end = slash
        }
        return false
    }

    private static func fnmatch(_ pattern: String, _ name: [UInt8]) -> Bool {
        EntryName.withCString(name) { Glibc.fnmatch(pattern, $0, 0) == 0 }
    }
}
