import Foundation

/// `config.json` at the repository root: marks a directory as a Lifeboat repository and says
/// which repository format it holds.
public struct RepositoryConfig: Codable, Sendable, Equatable {
    public static let currentFormat = 1
    public var format: Int
    public var id: String
    public var created: String
    /// Present when the repository is encrypted.
    public var encryption: EncryptionConfig?

    public init(format: Int = RepositoryConfig.currentFormat, id: String, created: String) {
        self.format = format
        self.id = id
        self.created = created
    }
}
