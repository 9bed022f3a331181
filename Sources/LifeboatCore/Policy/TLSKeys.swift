import Foundation

/// The TLS keys a policy accepts wherever Lifeboat talks to a server over TLS (`s3:`, Redis,
/// Chroma and Qdrant sources): `ca_file`, `cert_file`, `key_file`, `insecure_skip_verify`.
/// Paths are relative to the policy file and must be readable when the policy loads.
enum TLSKeys {
    static let names = ["ca_file", "cert_file", "key_file", "insecure_skip_verify"]

    /// Applies `key` to `settings`; false when it is not a TLS key.
    static func apply(_ key: String, _ value: PolicyNode, to settings: inout TLSSettings, file: String) throws -> Bool {
        switch key {
        case "ca_file": settings.caFile = try readable(value, file: file)
        case "cert_file": settings.certFile = try readable(value, file: file)
        case "key_file": settings.keyFile = try readable(value, file: file)
        case "insecure_skip_verify": settings.insecureSkipVerify = try value.bool()
        default: return false
        }
        return true
    }

    /// A certificate needs its key; `node` is the map that holds them.
    static func check(_ settings: TLSSettings, in node: PolicyNode) throws {
        if (settings.certFile == nil) != (settings.keyFile == nil) {
            throw node.error("cert_file and key_file go together", fix: "give both the client certificate and its private key, or neither")
        }
    }

    private static func readable(_ value: PolicyNode, file: String) throws -> String {
        let path = PolicyLoader.resolve(try value.string(), relativeTo: file)
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw value.error(
                "\(path) cannot be read", fix: "check the path (relative paths start at the policy's directory) and that this user may read it")
        }
        return path
    }
}
