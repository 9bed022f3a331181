import Foundation

/// How to trust a server and prove who we are, from a policy's `tls:`-style keys. Verification is
/// on unless `insecureSkipVerify` says otherwise (loudly warned).
public struct TLSSettings: Hashable, Sendable {
    /// PEM file of the CA(s) to trust instead of the system store (`/etc/ssl/certs`).
    public var caFile: String?
    /// PEM client certificate (chain) and its private key, for servers that ask for one.
    public var certFile: String?
    public var keyFile: String?
    /// No certificate or host name check. Only for a test bench; every connection warns.
    public var insecureSkipVerify: Bool

    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, insecureSkipVerify: Bool = false) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.insecureSkipVerify = insecureSkipVerify
    }

    /// Whether any key was given (a `ca_file` with an `http://` URL is a mistake, not a hint).
    public var isCustomized: Bool { caFile != nil || certFile != nil || keyFile != nil || insecureSkipVerify }

    /// Checks the combination before anything connects: a certificate needs its key.
    public func validate(_ what: String) throws {
        if (certFile == nil) != (keyFile == nil) {
            throw LifeboatError(
                .invalidInput, "\(what): cert_file and key_file go together",
                fix: "give both the client certificate (cert_file) and its private key (key_file), or neither")
        }
        for (key, path) in [("ca_file", caFile), ("cert_file", certFile), ("key_file", keyFile)] {
            if let path, !FileManager.default.isReadableFile(atPath: path) {
                throw LifeboatError(.invalidInput, "\(what): \(key) \(path) cannot be read", fix: "check the path and that this user may read it")
            }
        }
    }
}

extension TLSSettings {
    /// For a component's metadata: the files' paths and the flag (no secret), so a restore
    /// without the policy reaches the same server the same way.
    public var metadata: [String: JSONValue] {
        var m: [String: JSONValue] = [:]
        if let caFile { m["ca_file"] = .string(caFile) }
        if let certFile { m["cert_file"] = .string(certFile) }
        if let keyFile { m["key_file"] = .string(keyFile) }
        if insecureSkipVerify { m["insecure_skip_verify"] = .bool(true) }
        return m.isEmpty ? [:] : ["tls": .object(m)]
    }

    /// What `metadata` recorded, or nil.
    public init?(recordedIn metadata: [String: JSONValue]) {
        guard case .object(let m)? = metadata["tls"] else { return nil }
        self.init(
            caFile: m["ca_file"]?.stringValue, certFile: m["cert_file"]?.stringValue, keyFile: m["key_file"]?.stringValue,
            insecureSkipVerify: m["insecure_skip_verify"] == .bool(true))
    }
}
