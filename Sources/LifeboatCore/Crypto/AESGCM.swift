import CCrypto
import Foundation

/// AES-256-GCM through OpenSSL EVP: 32-byte key, 12-byte nonce, 16-byte tag appended to the
/// ciphertext. `open` fails (never returns unauthenticated bytes) on any change to the
/// ciphertext, the tag, the nonce or the additional data.
enum AESGCM {
    static let keySize = 32
    static let nonceSize = 12
    static let tagSize = 16

    /// Seals `plaintext` into `out` (at least plaintext.count + tagSize bytes); returns the
    /// sealed size.
    @discardableResult
    static func seal(
        _ plaintext: UnsafeRawBufferPointer, key: [UInt8], nonce: [UInt8], aad: [UInt8],
        into out: UnsafeMutableRawBufferPointer
    ) throws -> Int {
        precondition(out.count >= plaintext.count + tagSize)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw LifeboatError(.operationFailed, "EVP_CIPHER_CTX_new failed") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        guard EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce) == 1 else { throw failure("init") }
        var n: Int32 = 0
        if !aad.isEmpty { guard EVP_EncryptUpdate(ctx, nil, &n, aad, Int32(aad.count)) == 1 else { throw failure("aad") } }
        let base = out.bindMemory(to: UInt8.self).baseAddress!
        var written: Int32 = 0
        if plaintext.count > 0 {
            guard EVP_EncryptUpdate(ctx, base, &written, plaintext.bindMemory(to: UInt8.self).baseAddress, Int32(plaintext.count)) == 1 else {
                throw failure("encrypt")
            }
        }
        var last: Int32 = 0
        guard EVP_EncryptFinal_ex(ctx, base + Int(written), &last) == 1 else { throw failure("final") }
        guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(tagSize), base + plaintext.count) == 1 else { throw failure("tag") }
        return plaintext.count + tagSize
    }

    static func seal(_ plaintext: [UInt8], key: [UInt8], nonce: [UInt8], aad: [UInt8]) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: plaintext.count + tagSize)
        _ = try plaintext.withUnsafeBytes { input in try out.withUnsafeMutableBytes { try seal(input, key: key, nonce: nonce, aad: aad, into: $0) } }
        return out
    }

    /// Decrypts `sealed` (ciphertext + tag) into `out` (at least sealed.count − tagSize bytes);
    /// returns the plaintext size; throws `.integrity` if it is not authentic.
    @discardableResult
    static func open(
        _ sealed: UnsafeRawBufferPointer, key: [UInt8], nonce: [UInt8], aad: [UInt8],
        into out: UnsafeMutableRawBufferPointer
    ) throws -> Int {
        guard sealed.count >= tagSize else { throw LifeboatError(.integrity, "encrypted block too short") }
        let length = sealed.count - tagSize
        precondition(out.count >= length)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw LifeboatError(.operationFailed, "EVP_CIPHER_CTX_new failed") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        guard EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce) == 1 else { throw failure("init") }
        var n: Int32 = 0
        if !aad.isEmpty { guard EVP_DecryptUpdate(ctx, nil, &n, aad, Int32(aad.count)) == 1 else { throw failure("aad") } }
        let bytes = sealed.bindMemory(to: UInt8.self)
        var tag = Array(bytes[length...])
        let base = out.bindMemory(to: UInt8.self).baseAddress!
        var written: Int32 = 0
        var ok = true
        if length > 0 { ok = EVP_DecryptUpdate(ctx, base, &written, bytes.baseAddress, Int32(length)) == 1 }
        ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(tagSize), &tag) == 1
        var last: Int32 = 0
        ok = ok && EVP_DecryptFinal_ex(ctx, base + Int(written), &last) == 1
        guard ok else {
            memset(base, 0, length)  // never leave unauthenticated plaintext behind
            throw LifeboatError(.integrity, "authentication failed (wrong key, or the stored bytes were changed)")
        }
        return length
    }

    static func open(_ sealed: [UInt8], key: [UInt8], nonce: [UInt8], aad: [UInt8]) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: max(0, sealed.count - tagSize))
        _ = try sealed.withUnsafeBytes { input in try out.withUnsafeMutableBytes { try open(input, key: key, nonce: nonce, aad: aad, into: $0) } }
        return out
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard RAND_bytes(&bytes, Int32(count)) == 1 else { fatalError("RAND_bytes failed") }
        return bytes
    }

    private static func failure(_ step: String) -> LifeboatError {
        LifeboatError(.operationFailed, "AES-256-GCM \(step) failed in OpenSSL")
    }
}

/// HMAC-SHA256 through OpenSSL (SigV4 signing, the key check, HKDF).
enum HMACSHA256 {
    static func mac(_ key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        data.withUnsafeBytes { mac(key, $0) }
    }

    static func mac(_ key: [UInt8], _ data: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = key.withUnsafeBytes { k in
            HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), data.bindMemory(to: UInt8.self).baseAddress, data.count, &out, &length)
        }
        return Array(out.prefix(Int(length)))
    }
}

/// HKDF-SHA256 (RFC 5869) for one 32-byte output block.
enum HKDF {
    static func sha256(ikm: [UInt8], salt: [UInt8], info: [UInt8]) -> [UInt8] {
        let prk = HMACSHA256.mac(salt.isEmpty ? [UInt8](repeating: 0, count: 32) : salt, ikm)
        return HMACSHA256.mac(prk, info + [1])
    }
}
