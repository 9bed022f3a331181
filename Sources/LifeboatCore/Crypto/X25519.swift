import CCrypto
import Foundation

/// X25519 keys through OpenSSL EVP, and their PEM files (`lifeboat keygen` writes what
/// `openssl genpkey -algorithm X25519` writes, and reads either).
enum X25519 {
    static let keySize = 32

    /// A new key pair (private, public), 32 raw bytes each.
    static func generate() throws -> (privateKey: [UInt8], publicKey: [UInt8]) {
        guard let ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, nil) else { throw failure("context") }
        defer { EVP_PKEY_CTX_free(ctx) }
        var pkey: OpaquePointer?
        guard EVP_PKEY_keygen_init(ctx) == 1, EVP_PKEY_keygen(ctx, &pkey) == 1, let pkey else { throw failure("keygen") }
        defer { EVP_PKEY_free(pkey) }
        return (try raw(pkey, privateKey: true), try raw(pkey, privateKey: false))
    }

    /// The public key of a private key.
    static func publicKey(of privateKey: [UInt8]) throws -> [UInt8] {
        guard let pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nil, privateKey, privateKey.count) else { throw failure("private key") }
        defer { EVP_PKEY_free(pkey) }
        return try raw(pkey, privateKey: false)
    }

    /// The shared secret of `privateKey` and `peerPublic`.
    static func sharedSecret(privateKey: [UInt8], peerPublic: [UInt8]) throws -> [UInt8] {
        guard let mine = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nil, privateKey, privateKey.count),
            let peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nil, peerPublic, peerPublic.count)
        else { throw failure("keys") }
        defer {
            EVP_PKEY_free(mine)
            EVP_PKEY_free(peer)
        }
        guard let ctx = EVP_PKEY_CTX_new(mine, nil) else { throw failure("context") }
        defer { EVP_PKEY_CTX_free(ctx) }
        var length = 32
        var secret = [UInt8](repeating: 0, count: 32)
        guard EVP_PKEY_derive_init(ctx) == 1, EVP_PKEY_derive_set_peer(ctx, peer) == 1, EVP_PKEY_derive(ctx, &secret, &length) == 1, length == 32
        else {
            throw failure("derive")
        }
        return secret
    }

    private static func raw(_ pkey: OpaquePointer, privateKey: Bool) throws -> [UInt8] {
        var length = 32
        var bytes = [UInt8](repeating: 0, count: 32)
        let rc = privateKey ? EVP_PKEY_get_raw_private_key(pkey, &bytes, &length) : EVP_PKEY_get_raw_public_key(pkey, &bytes, &length)
        guard rc == 1, length == 32 else { throw failure("raw key") }
        return bytes
    }

    /// PEM text of a key (`PRIVATE KEY` PKCS#8 or `PUBLIC KEY` SubjectPublicKeyInfo).
    static func pem(_ key: [UInt8], privateKey: Bool) throws -> String {
        let made =
            privateKey
            ? EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nil, key, key.count)
            : EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nil, key, key.count)
        guard let pkey = made, let bio = BIO_new(BIO_s_mem()) else { throw failure("pem") }
        defer {
            EVP_PKEY_free(pkey)
            BIO_free(bio)
        }
        let rc = privateKey ? PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil) : PEM_write_bio_PUBKEY(bio, pkey)
        guard rc == 1 else { throw failure("pem write") }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 512)
        while true {
            let n = BIO_read(bio, &chunk, Int32(chunk.count))
            if n <= 0 { break }
            out += chunk[0..<Int(n)]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The raw key in PEM `text`; nil when it is not an X25519 key of that kind.
    static func parsePEM(_ text: String, privateKey: Bool) -> [UInt8]? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { buffer -> [UInt8]? in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            let read = privateKey ? PEM_read_bio_PrivateKey(bio, nil, nil, nil) : PEM_read_bio_PUBKEY(bio, nil, nil, nil)
            guard let pkey = read else { return nil }
            defer { EVP_PKEY_free(pkey) }
            guard EVP_PKEY_get_id(pkey) == EVP_PKEY_X25519 else { return nil }
            return try? raw(pkey, privateKey: privateKey)
        }
    }

    private static func failure(_ step: String) -> LifeboatError {
        LifeboatError(.operationFailed, "X25519 \(step) failed in OpenSSL")
    }
}
