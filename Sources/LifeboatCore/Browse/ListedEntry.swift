import Foundation

/// One entry of a snapshot's component as `ls`, `find` and `diff` show it (`--json`: these
/// fields, docs/json.md).
public struct ListedEntry: Codable, Sendable, Equatable {
    /// The snapshot's name (`find`; nil for `ls`, which lists one snapshot).
    public var snapshot: String?
    public var source: String
    public var path: String
    /// The path's bytes in hex when they are not UTF-8 (`path` shows them escaped).
    public var pathHex: String?
    public var kind: EntryRecord.Kind
    /// Permission bits in octal, `0644`.
    public var mode: String
    public var size: Int64
    /// Modification time, RFC 3339 UTC with nanoseconds.
    public var mtime: String
    public var sha256: String?
    public var target: String?

    enum CodingKeys: String, CodingKey {
        case snapshot, source, path, kind, mode, size, mtime, sha256, target
        case pathHex = "path_hex"
    }

    public init(_ record: EntryRecord, source: String, snapshot: String? = nil) {
        self.snapshot = snapshot
        self.source = source
        path = record.path
        pathHex = record.pathHex
        kind = record.kind
        mode = "0" + String(record.mode & 0o7777, radix: 8)
        size = record.size
        let seconds = Date(timeIntervalSince1970: TimeInterval(record.mtime))
        let stamp = Timestamp.rfc3339(seconds)  // …T02:00:00Z
        mtime = String(stamp.dropLast()) + String(format: ".%09lldZ", record.mtimeNanoseconds)
        sha256 = record.sha256
        target = record.target
    }

    /// `ls -l`'s line: type and permissions, size, time, path (and a link's target).
    public var longLine: String {
        let type: Character =
            switch kind {
            case .directory: "d"
            case .symlink: "l"
            case .file: "-"
            case .hardlink: "h"
            }
        let bits = Int(mode, radix: 8) ?? 0
        let letters = Array("rwxrwxrwx")
        var permissions = ""
        for i in 0..<9 {
            let set = (bits >> (8 - i)) & 1 == 1
            permissions.append(set ? letters[i] : "-")
        }
        let time = mtime.prefix(19).replacingOccurrences(of: "T", with: " ")
        let link = target.map { kind == .hardlink ? " link to \($0)" : " -> \($0)" } ?? ""
        let sizeText = String(size)
        let padding = String(repeating: " ", count: max(0, 12 - sizeText.count))
        return "\(type)\(permissions) \(padding)\(sizeText) \(time) \(path)\(link)"
    }
}

/// The entries of a component below a path, as `ls` and `dump` take it: the entry named PATH
/// and everything under it (a path, not a pattern: `etc/app` is not `etc/apps`).
public struct EntryPath: Sendable {
    public let bytes: [UInt8]

    public init(_ text: String) {
        var text = text
        while text.hasPrefix("./") { text.removeFirst(2) }
        while text.hasPrefix("/") { text.removeFirst() }
        while text.hasSuffix("/") { text.removeLast() }
        bytes = Array(text.utf8)
    }

    /// True for the whole component (an empty path or `.`).
    public var isWhole: Bool { bytes.isEmpty || bytes == [0x2e] }

    /// The entries of `component` at and below this path, in stream order, without the root
    /// entry (`.`), which names the component itself.
    public func entries(of component: Manifest.Component) -> [EntryRecord] {
        component.entries.filter { contains($0.name.bytes) && !EntrySelection.isRoot($0.name.bytes) }
    }

    public func contains(_ name: [UInt8]) -> Bool {
        if isWhole { return true }
        return name == bytes || (name.count > bytes.count && name.starts(with: bytes) && name[bytes.count] == 0x2f)
    }
}
