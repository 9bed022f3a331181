import Foundation

/// TLS to PostgreSQL with libpq's own names, so they mean what the PostgreSQL documentation
/// says: `sslmode` (`disable` … `verify-full`), `sslrootcert` (the CA), `sslcert` and `sslkey`
/// (a client certificate). libpq gets them as connection parameters; the client programs
/// (pg_dump, pg_basebackup, pg_restore, psql) as `PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT`,
/// `PGSSLKEY` in their environment, never argv. Unset keys leave libpq's defaults (and its
/// environment) in charge; `verify-full` is what a production policy should say.
public struct PostgresSSL: Sendable, Hashable {
    public static let keys = ["sslmode", "sslrootcert", "sslcert", "sslkey"]
    static let modes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

    public var mode: String?
    public var rootCert: String?
    public var cert: String?
    public var key: String?

    public init(mode: String? = nil, rootCert: String? = nil, cert: String? = nil, key: String? = nil) {
        self.mode = mode
        self.rootCert = rootCert
        self.cert = cert
        self.key = key
    }

    /// From a component's metadata (what the capture recorded).
    init(recordedIn metadata: [String: JSONValue]) {
        mode = metadata["sslmode"]?.stringValue
        rootCert = metadata["sslrootcert"]?.stringValue
        cert = metadata["sslcert"]?.stringValue
        key = metadata["sslkey"]?.stringValue
    }

    /// Applies policy key `key`; false when it is not one of ours.
    mutating func apply(_ key: String, _ value: PolicyNode, file: String) throws -> Bool {
        switch key {
        case "sslmode":
            let text = try value.string()
            guard Self.modes.contains(text) else {
                throw value.error(
                    "unknown sslmode \"\(text)\"",
                    fix: "use one of \(Self.modes.joined(separator: ", ")) (verify-full checks the CA and the host name)")
            }
            mode = text
        case "sslrootcert", "sslcert", "sslkey":
            let path = PolicyLoader.resolve(try value.string(), relativeTo: file)
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw value.error(
                    "\(path) cannot be read", fix: "check the path (relative paths start at the policy's directory) and that this user may read it")
            }
            if key == "sslrootcert" { rootCert = path } else if key == "sslcert" { cert = path } else { self.key = path }
        default:
            return false
        }
        return true
    }

    /// libpq connection parameters (and manifest metadata: paths and a mode, no secret).
    var parameters: [String: String] {
        var p: [String: String] = [:]
        if let mode { p["sslmode"] = mode }
        if let rootCert { p["sslrootcert"] = rootCert }
        if let cert { p["sslcert"] = cert }
        if let key { p["sslkey"] = key }
        return p
    }

    /// The same for the client programs.
    var environment: [String: String] {
        var env: [String: String] = [:]
        if let mode { env["PGSSLMODE"] = mode }
        if let rootCert { env["PGSSLROOTCERT"] = rootCert }
        if let cert { env["PGSSLCERT"] = cert }
        if let key { env["PGSSLKEY"] = key }
        return env
    }

    /// The fix for one of libpq's TLS messages.
    static func fix(for message: String) -> String {
        if message.contains("does not match host name") {
            return "connect by a name the server's certificate lists (the source's host:), or reissue the certificate for this host"
        }
        if message.contains("root certificate file") || message.contains("certificate verify failed") {
            return "set sslrootcert to the CA certificate that signed the server's certificate"
        }
        if message.contains("server does not support SSL") {
            return "turn on ssl in the server's postgresql.conf, or lower sslmode (never below require outside a private network)"
        }
        if message.contains("certificate") {
            return "the server wants a client certificate it trusts: set sslcert and sslkey (the key file mode 0600)"
        }
        return "check sslmode, sslrootcert, sslcert and sslkey of the source"
    }
}
