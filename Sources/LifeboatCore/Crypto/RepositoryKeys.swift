import Foundation

/// How a repository is encrypted, as `config.json` records it (plaintext: it says what key a
/// command needs, never the key itself).
public struct EncryptionConfig: Codable, Sendable, Equatable {
    public enum Mode: String, Codable, Sendable {
        /// One 32-byte repository key (a key file) encrypts and decrypts.
        case symmetric
        /// Backups encrypt to an X25519 public key; only the private key decrypts.
        case publicKey = "public-key"
    }
    public var mode: Mode
    public var cipher = "AES-256-GCM"
    /// Symmetric: HMAC-SHA256(key, "lifeboat key check " + repository id), to tell a wrong key
    /// from damage.
    public var keyCheck: String?
    /// Public-key mode: the X25519 public key, base64.
    public var publicKey: String?

    enum CodingKeys: String, CodingKey {
        case mode, cipher
        case keyCheck = "key_check"
        case publicKey = "public_key"
    }
}

/// The keys this invocation holds for an encrypted repository: what it can seal (every backup
/// can: with the symmetric key, or with the public key from `config.json`) and what it can open
/// (the symmetric key, or the private key).
public struct RepositoryKeys: Sendable {
    public let config: EncryptionConfig
    let symmetricKey: [UInt8]?
    let publicKey: [UInt8]?
    let privateKey: [UInt8]?

    public var canSeal: Bool { symmetricKey != nil || publicKey != nil }
    public var canOpen: Bool { symmetricKey != nil || privateKey != nil }

    /// Checks the given key files against the repository's `config` and `id`. A wrong key is
    /// `.invalidInput` (exit 2), named as such.
    init(config: EncryptionConfig, repositoryId: String, keyFile: String?, privateKeyFile: String?) throws {
        self.config = config
        switch config.mode {
        case .symmetric:
            privateKey = nil
            publicKey = nil
            if let keyFile {
                let key = try Self.readSymmetricKey(keyFile)
                guard Self.keyCheck(key, repositoryId: repositoryId) == config.keyCheck else {
                    throw LifeboatError(
                        .invalidInput, "\(keyFile) is not this repository's key (the key check does not match)",
                        fix: "give the key file the repository was created with (`lifeboat init --encrypt --key-file`)")
                }
                symmetricKey = key
            } else {
                symmetricKey = nil
            }
        case .publicKey:
            symmetricKey = nil
            guard let text = config.publicKey, let key = Data(base64Encoded: text).map(Array.init), key.count == 32 else {
                throw LifeboatError(.integrity, "config.json: the public key is damaged")
            }
            publicKey = key
            if let privateKeyFile {
                let secret = try Self.readPrivateKey(privateKeyFile)
                guard try X25519.publicKey(of: secret) == key else {
                    throw LifeboatError(
                        .invalidInput, "\(privateKeyFile) is not the private key of this repository's public key",
                        fix: "give the .key file from the `lifeboat keygen` that made the repository's public key")
                }
                privateKey = secret
            } else {
                privateKey = nil
            }
        }
    }

    static func keyCheck(_ key: [UInt8], repositoryId: String) -> String {
        Hex.encode(HMACSHA256.mac(key, Array("lifeboat key check \(repositoryId)".utf8)))
    }

    /// The error for an operation that must read encrypted content without a key to open it.
    func missingKey(_ what: String) -> LifeboatError {
        switch config.mode {
        case .symmetric:
            LifeboatError(
                .invalidInput, "this repository is encrypted: \(what) needs its key",
                fix: "pass --key-file FILE (or set LIFEBOAT_KEY_FILE, or `key_file:` in the policy)")
        case .publicKey:
            LifeboatError(
                .invalidInput, "this repository is encrypted to a public key: \(what) needs the private key",
                fix: "pass --private-key NAME.key (or set LIFEBOAT_PRIVATE_KEY); `verify` without --deep needs no key")
        }
    }

    /// A 32-byte key file (raw, or 64 hex digits), readable by its owner only.
    static func readSymmetricKey(_ path: String) throws -> [UInt8] {
        let bytes = try readSecretFile(path, what: "key file")
        if bytes.count == 32 { return bytes }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.count == 64, let key = Hex.decode(text) { return key }
        throw LifeboatError(
            .invalidInput, "\(path) is not a 32-byte key (\(bytes.count) bytes)",
            fix: "make one with `head -c 32 /dev/urandom > \(path) && chmod 600 \(path)`")
    }

    /// An X25519 private key in PEM, readable by its owner only.
    static func readPrivateKey(_ path: String) throws -> [UInt8] {
        let bytes = try readSecretFile(path, what: "private key")
        guard let key = X25519.parsePEM(String(decoding: bytes, as: UTF8.self), privateKey: true) else {
            throw LifeboatError(
                .invalidInput, "\(path) is not an X25519 private key in PEM", fix: "use the NAME.key that `lifeboat keygen --out NAME` wrote")
        }
        return key
    }

    /// An X25519 public key in PEM.
    static func readPublicKey(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LifeboatError(.invalidInput, "cannot read public key \(path)")
        }
        guard let key = X25519.parsePEM(String(decoding: data, as: UTF8.self), privateKey: false) else {
            throw LifeboatError(
                .invalidInput, "\(path) is not an X25519 public key in PEM", fix: "use the NAME.pub that `lifeboat keygen --out NAME` wrote")
        }
        return key
    }

    private static func readSecretFile(_ path: String, what: String) throws -> [UInt8] {
        try SecretFile.read(path, what: what)
    }
}
