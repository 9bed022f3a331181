import Foundation

/// `config.json` at the repository root: marks a directory as a Lifeboat repository and says
/// which repository format it holds.
public struct RepositoryConfig: Codable, Sendable, Equatable {
    /// The format `init` writes by default.
    public static let currentFormat = 2
    /// Format 1: one stored file per component. Format 2: the deduplicated chunk store.
    public static let readableFormats = [1, 2]
    public var format: Int
    public var id: String
    public var created: String
    /// Present when the repository is encrypted.
    public var encryption: EncryptionConfig?
    /// True when its writers hold credentials that may add but not delete (`init --append-only`,
    /// docs/append-only.md): `forget` and `prune` then run only with `--admin-credentials`, and
    /// nothing else tries to delete. Absent (false) in repositories made without it.
    public var appendOnly: Bool?
    /// S3 Object Lock (`init --object-lock MODE`): every object of a snapshot is locked until
    /// retention would forget it, plus a margin (docs/append-only.md, "Object Lock").
    public var objectLock: ObjectLockConfig?
    /// SHA-256 over the canonical encoding of every other field (absent in repositories made
    /// before it was introduced, which are still read).
    public var checksum: String?

    enum CodingKeys: String, CodingKey {
        case format, id, created, encryption
        case appendOnly = "append_only"
        case objectLock = "object_lock"
        case checksum
    }

    /// `appendOnly`, read as a plain yes or no.
    public var isAppendOnly: Bool { appendOnly ?? false }

    /// The canonical checksum of this config's content (ignoring `checksum`).
    public func computeChecksum() throws -> String {
        var body = self
        body.checksum = nil
        return try StrictJSON.checksum(of: body)
    }

    /// Decodes and proves `config.json`: checksum (when present) and no content it does not cover.
    static func load(_ data: Data, path: String) throws -> RepositoryConfig {
        let config: RepositoryConfig
        do {
            config = try JSONDecoder().decode(RepositoryConfig.self, from: data)
        } catch {
            throw LifeboatError(.integrity, "\(path) is damaged: it cannot be read as a repository config", underlying: error)
        }
        if let stored = config.checksum {
            let actual = try config.computeChecksum()
            guard stored == actual else {
                throw LifeboatError(
                    .integrity, "\(path) is damaged: checksum \(stored.prefix(12))… does not match its content (\(actual.prefix(12))…)")
            }
        }
        if let extra = StrictJSON.unknownContent(data, decoded: config) {
            throw LifeboatError(.integrity, "\(path) is damaged: it holds \(extra), which this build does not know")
        }
        return config
    }

    public init(format: Int = RepositoryConfig.currentFormat, id: String, created: String) {
        self.format = format
        self.id = id
        self.created = created
    }
}

/// `config.json` → `object_lock`.
public struct ObjectLockConfig: Codable, Sendable, Equatable {
    public var mode: ObjectLockMode
    /// Days added to the moment retention would forget a snapshot (clock skew, late prunes).
    public var marginDays: Int
    /// The longest lock set at once: a snapshot retention keeps longer (or for ever) is locked
    /// this long, and needs extending before it runs out.
    public var maxDays: Int

    public init(mode: ObjectLockMode, marginDays: Int = 7, maxDays: Int = 400) {
        self.mode = mode
        self.marginDays = marginDays
        self.maxDays = maxDays
    }

    enum CodingKeys: String, CodingKey {
        case mode
        case marginDays = "margin_days"
        case maxDays = "max_days"
    }
}
