/// What one tar entry holds, as recorded in the manifest: enough to check the entry's content
/// (size and SHA-256) and to recreate it (type, mode, mtime, link target).
public struct EntryRecord: Codable, Sendable, Equatable {
    /// The kind of filesystem object an entry recreates.
    public enum Kind: String, Codable, Sendable {
        /// `hardlink`: another name of an earlier `file` entry of the component (`target`).
        case file, directory, symlink, hardlink
    }

    /// Path inside the component, relative, `/`-separated, never absolute or with `..`.
    public var path: String
    public var kind: Kind
    /// Permission bits (`0o7777` part of the mode).
    public var mode: UInt32
    /// Modification time, seconds since the epoch.
    public var mtime: Int64
    /// Nanoseconds part of the modification time.
    public var mtimeNanoseconds: Int64
    /// Content size in bytes (0 for directories and symlinks).
    public var size: Int64
    /// SHA-256 of the content, for files.
    public var sha256: String?
    /// Link target, for symlinks; the earlier entry's path, for hard links.
    public var target: String?
    /// True for a file stored with its holes (a sparse file): the content (and `sha256`) reads
    /// the holes as zeros, a restore recreates them as holes.
    public var sparse: Bool?
    /// The path's bytes in hex when they are not valid UTF-8 (`path` then shows them escaped).
    public var pathHex: String?
    /// Format 2, regular files of 256 KiB or more: the change time and inode seen at capture (a
    /// later backup skips reading a file whose size, mtime, ctime and inode are the same) and
    /// where the content's chunks sit in the component's chunk list (`[first, count]`).
    public var ctime: Int64?
    public var ctimeNanoseconds: Int64?
    public var inode: UInt64?
    public var chunks: [Int]?
    /// The link target's bytes in hex when they are not valid UTF-8.
    public var targetHex: String?

    /// The path as bytes.
    public var name: EntryName { EntryName(text: path, hex: pathHex) }
    /// The link target as bytes.
    public var targetName: EntryName? { target.map { EntryName(text: $0, hex: targetHex) } }

    public init(
        path: String, kind: Kind, mode: UInt32, mtime: Int64, mtimeNanoseconds: Int64,
        size: Int64 = 0, sha256: String? = nil, target: String? = nil
    ) {
        self.init(
            name: EntryName(path), kind: kind, mode: mode, mtime: mtime, mtimeNanoseconds: mtimeNanoseconds,
            size: size, sha256: sha256, target: target.map(EntryName.init))
    }

    public init(
        name: EntryName, kind: Kind, mode: UInt32, mtime: Int64, mtimeNanoseconds: Int64,
        size: Int64 = 0, sha256: String? = nil, target: EntryName?
    ) {
        self.path = name.text
        self.pathHex = name.hex
        self.target = target?.text
        self.targetHex = target?.hex
        self.kind = kind
        self.mode = mode
        self.mtime = mtime
        self.mtimeNanoseconds = mtimeNanoseconds
        self.size = size
        self.sha256 = sha256
    }

    enum CodingKeys: String, CodingKey {
        case path, kind, mode, mtime, size, sha256, target, sparse, ctime, inode, chunks
        case mtimeNanoseconds = "mtime_ns"
        case pathHex = "path_hex"
        case targetHex = "target_hex"
        case ctimeNanoseconds = "ctime_ns"
    }
}
