import Foundation

/// How to reach a repository's storage: a directory path, or `s3://BUCKET/PREFIX` with the S3
/// settings from the policy's `s3:` map, falling back on the standard AWS environment.
public struct StorageSettings: Sendable {
    public var endpoint: String?
    public var region: String?
    public var credentialsFile: String?
    /// `--admin-credentials FILE` of `forget` and `prune`: the credentials that may delete in an
    /// append-only repository (same format as `credentialsFile`, which they replace).
    public var adminCredentialsFile: String?
    /// Path-style addressing (`http://HOST/BUCKET/KEY`); the default for a custom endpoint.
    public var pathStyle: Bool?
    public var partSize: Int?
    public var uploadsInFlight: Int?
    /// For an `https://` endpoint: the policy's `ca_file`, `cert_file`, `key_file`,
    /// `insecure_skip_verify` (nil: `AWS_CA_BUNDLE` if set, else the system trust store).
    public var tls: TLSSettings?
    /// Where `AWS_*` variables are read (default: this process's environment).
    public var environment: [String: String]?

    public init() {}

    /// The storage `location` names.
    public static func storage(for location: String, settings: StorageSettings) throws -> any RepositoryStorage {
        if location.hasPrefix("s3://") {
            return try S3Storage(url: location, settings: settings, environment: settings.environment ?? ProcessInfo.processInfo.environment)
        }
        if location.contains("://") {
            throw LifeboatError(
                .invalidInput, "\(location): unsupported repository location",
                fix: "use a directory path or s3://BUCKET/PREFIX")
        }
        return DiskStorage(root: location)
    }
}
