/// How a component's tar stream is compressed before it is stored.
public enum Compression: Sendable, Equatable, CustomStringConvertible {
    /// zstd through libarchive's filter on the storage thread; level −7…22 (default 3).
    case zstd(level: Int)
    /// gzip through zlib on the storage thread; level 1…9 (default 6).
    case gzip(level: Int)
    /// Stored as plain tar.
    case none

    public static let `default` = Compression.zstd(level: 3)

    /// Parses `zstd`, `zstd:19`, `gzip`, `gzip:9`, `none`; nil for anything else.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let level = parts.count == 2 ? Int(parts[1]) : nil
        if parts.count == 2 && level == nil { return nil }
        switch parts.first?.lowercased() {
        case "zstd":
            let l = level ?? 3
            guard (-7...22).contains(l) else { return nil }
            self = .zstd(level: l)
        case "gzip":
            let l = level ?? 6
            guard (1...9).contains(l) else { return nil }
            self = .gzip(level: l)
        case "none" where level == nil:
            self = .none
        default:
            return nil
        }
    }

    /// The name recorded in manifests: `zstd`, `gzip` or `none`.
    public var algorithm: String {
        switch self {
        case .zstd: return "zstd"
        case .gzip: return "gzip"
        case .none: return "none"
        }
    }

    /// The stored file's extension.
    public var fileExtension: String {
        switch self {
        case .zstd: return "tar.zst"
        case .gzip: return "tar.gz"
        case .none: return "tar"
        }
    }

    public var description: String {
        switch self {
        case .zstd(let l): return "zstd:\(l)"
        case .gzip(let l): return "gzip:\(l)"
        case .none: return "none"
        }
    }
}
