import Foundation

/// The encrypted form of every stored object of an encrypted repository (docs/FORMAT.md,
/// "Encryption"). A random 32-byte data key per object, wrapped in the header:
///
///     "LBX1"  mode (1 symmetric | 2 X25519)  [mode 2: ephemeral public key, 32]
///     wrap nonce (12)  wrapped data key (32 + 16 tag)
///
/// symmetric: wrapped with AES-256-GCM under the repository key; X25519: under
/// HKDF-SHA256(X25519(ephemeral, repository public key), salt = ephemeral ‖ repository public,
/// info "lifeboat-v1 x25519 wrap"). The header is the additional data of the wrap and of every
/// chunk. Then chunks of 1 MiB of plaintext, each AES-256-GCM with nonce = 8-byte big-endian
/// chunk number ‖ 3 zero bytes ‖ 1 if it is the last chunk else 0, followed by its 16-byte tag.
/// Reordering, truncation, extension and any bit flip fail authentication.
enum SealedObject {
    static let magic = Array("LBX1".utf8)
    static let chunkSize = 1 << 20

    /// A new header and the data key it wraps.
    static func header(for keys: RepositoryKeys) throws -> (header: [UInt8], dataKey: [UInt8]) {
        let dataKey = AESGCM.randomBytes(32)
        let nonce = AESGCM.randomBytes(AESGCM.nonceSize)
        if let key = keys.symmetricKey {
            let prefix = magic + [1]
            return (prefix + nonce + (try AESGCM.seal(dataKey, key: key, nonce: nonce, aad: prefix)), dataKey)
        }
        guard let recipient = keys.publicKey else { throw keys.missingKey("writing") }
        let ephemeral = try X25519.generate()
        let prefix = magic + [2] + ephemeral.publicKey
        let wrapKey = try wrappingKey(
            secret: try X25519.sharedSecret(privateKey: ephemeral.privateKey, peerPublic: recipient),
            ephemeral: ephemeral.publicKey, recipient: recipient)
        return (prefix + nonce + (try AESGCM.seal(dataKey, key: wrapKey, nonce: nonce, aad: prefix)), dataKey)
    }

    static func headerSize(mode: UInt8) -> Int { 5 + (mode == 2 ? 32 : 0) + AESGCM.nonceSize + 32 + AESGCM.tagSize }

    /// Unwraps the data key of `header` (exactly `headerSize` bytes).
    static func dataKey(from header: [UInt8], keys: RepositoryKeys) throws -> [UInt8] {
        guard header.count >= 5, Array(header[0..<4]) == magic, header[4] == 1 || header[4] == 2,
            header.count == headerSize(mode: header[4])
        else {
            throw LifeboatError(.integrity, "not an encrypted Lifeboat object (bad header)")
        }
        let mode = header[4]
        let prefixLength = mode == 2 ? 37 : 5
        let prefix = Array(header[0..<prefixLength])
        let nonce = Array(header[prefixLength..<(prefixLength + AESGCM.nonceSize)])
        let wrapped = Array(header[(prefixLength + AESGCM.nonceSize)...])
        let key: [UInt8]
        if mode == 1 {
            guard let symmetric = keys.symmetricKey else { throw keys.missingKey("reading") }
            key = symmetric
        } else {
            guard let privateKey = keys.privateKey, let recipient = keys.publicKey else { throw keys.missingKey("reading") }
            let ephemeral = Array(header[5..<37])
            key = try wrappingKey(
                secret: try X25519.sharedSecret(privateKey: privateKey, peerPublic: ephemeral),
                ephemeral: ephemeral, recipient: recipient)
        }
        do {
            return try AESGCM.open(wrapped, key: key, nonce: nonce, aad: prefix)
        } catch {
            throw LifeboatError(.integrity, "the object's data key does not unwrap: its header was changed")
        }
    }

    static func wrappingKey(secret: [UInt8], ephemeral: [UInt8], recipient: [UInt8]) throws -> [UInt8] {
        HKDF.sha256(ikm: secret, salt: ephemeral + recipient, info: Array("lifeboat-v1 x25519 wrap".utf8))
    }

    static func nonce(chunk: UInt64, last: Bool) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: chunk >> (56 - 8 * UInt64($0))) } + [0, 0, 0, last ? 1 : 0]
    }

    /// Seals a small object whole.
    static func seal(_ plaintext: [UInt8], keys: RepositoryKeys) throws -> [UInt8] {
        let sink = CollectingWriter()
        let writer = try SealingWriter(base: sink, keys: keys)
        try writer.write(plaintext)
        _ = try writer.commit()
        return sink.bytes
    }

    /// Opens a small object whole.
    static func open(_ sealed: [UInt8], keys: RepositoryKeys) throws -> [UInt8] {
        let reader = OpeningReader(base: BytesReader(sealed), keys: keys)
        return try reader.readAll()
    }
}

/// Encrypts into another writer, chunk by chunk (buffers allocated once: one chunk in, one out).
final class SealingWriter: ObjectWriter {
    private let base: any ObjectWriter
    private let header: [UInt8]
    private let dataKey: [UInt8]
    private var pending: [UInt8]
    private var pendingCount = 0
    private var sealed: [UInt8]
    private var chunk: UInt64 = 0

    init(base: any ObjectWriter, keys: RepositoryKeys) throws {
        self.base = base
        (header, dataKey) = try SealedObject.header(for: keys)
        pending = [UInt8](repeating: 0, count: SealedObject.chunkSize)
        sealed = [UInt8](repeating: 0, count: SealedObject.chunkSize + AESGCM.tagSize)
        try base.write(header)
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            // A full chunk is sealed only when more follows: the last one carries the final flag.
            if pendingCount == SealedObject.chunkSize { try flush(last: false) }
            let take = min(bytes.count - offset, SealedObject.chunkSize - pendingCount)
            pending.withUnsafeMutableBytes {
                $0.baseAddress!.advanced(by: pendingCount).copyMemory(from: bytes.baseAddress! + offset, byteCount: take)
            }
            pendingCount += take
            offset += take
        }
    }

    private func flush(last: Bool) throws {
        let nonce = SealedObject.nonce(chunk: chunk, last: last)
        let size = try pending.withUnsafeBytes { input in
            try sealed.withUnsafeMutableBytes { out in
                try AESGCM.seal(UnsafeRawBufferPointer(rebasing: input[0..<pendingCount]), key: dataKey, nonce: nonce, aad: header, into: out)
            }
        }
        try sealed.withUnsafeBytes { try base.write(UnsafeRawBufferPointer(rebasing: $0[0..<size])) }
        chunk += 1
        pendingCount = 0
    }

    func commit() throws -> StoredDigest {
        try flush(last: true)
        return try base.commit()
    }

    func abort() { base.abort() }
}

/// Decrypts another reader, chunk by chunk; nothing unauthenticated is ever returned.
final class OpeningReader: ObjectReader {
    private let base: any ObjectReader
    private let keys: RepositoryKeys
    private var header: [UInt8]?
    private var dataKey: [UInt8] = []
    /// Stored bytes read ahead: `raw[0..<rawCount]`.
    private var raw: [UInt8]
    private var rawCount = 0
    private var rawEnded = false
    private var plain: [UInt8]
    private var plainCount = 0
    private var offset = 0
    private var chunk: UInt64 = 0
    private var finished = false
    private static let sealedSize = SealedObject.chunkSize + AESGCM.tagSize

    init(base: any ObjectReader, keys: RepositoryKeys) {
        self.base = base
        self.keys = keys
        raw = [UInt8](repeating: 0, count: 2 * Self.sealedSize + 1)
        plain = [UInt8](repeating: 0, count: SealedObject.chunkSize)
    }

    /// Reads and unwraps the header now (a missing or wrong key fails here, before any output).
    func start() throws {
        guard header == nil else { return }
        try fillRaw(atLeast: 5)
        guard rawCount >= 5 else { throw LifeboatError(.integrity, "encrypted object is truncated (no header)") }
        let size = SealedObject.headerSize(mode: raw[4])
        try fillRaw(atLeast: size)
        guard rawCount >= size else { throw LifeboatError(.integrity, "encrypted object is truncated (short header)") }
        let bytes = Array(raw[0..<size])
        dataKey = try SealedObject.dataKey(from: bytes, keys: keys)
        header = bytes
        consumeRaw(size)
    }

    private func fillRaw(atLeast count: Int) throws {
        while rawCount < count && !rawEnded {
            let n = try raw.withUnsafeMutableBytes { try base.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[rawCount...])) }
            if n == 0 { rawEnded = true } else { rawCount += n }
        }
    }

    private func consumeRaw(_ count: Int) {
        let rest = rawCount - count
        if rest > 0 { raw.withUnsafeMutableBytes { $0.baseAddress!.copyMemory(from: $0.baseAddress! + count, byteCount: rest) } }
        rawCount = rest
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try start()
        while offset == plainCount {
            if finished { return 0 }
            try fillRaw(atLeast: Self.sealedSize + 1)
            let last = rawCount <= Self.sealedSize
            let take = min(rawCount, Self.sealedSize)
            let nonce = SealedObject.nonce(chunk: chunk, last: last)
            do {
                plainCount = try raw.withUnsafeBytes { input in
                    try plain.withUnsafeMutableBytes { out in
                        try AESGCM.open(UnsafeRawBufferPointer(rebasing: input[0..<take]), key: dataKey, nonce: nonce, aad: header!, into: out)
                    }
                }
            } catch {
                throw LifeboatError(.integrity, "encrypted object: chunk \(chunk) fails authentication (changed, truncated or reordered)")
            }
            offset = 0
            consumeRaw(take)
            chunk += 1
            if last { finished = true }
        }
        let n = min(buffer.count, plainCount - offset)
        plain.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
        offset += n
        return n
    }

    /// The stored (encrypted) bytes' digest.
    var digest: StoredDigest { base.digest }

    func close() { base.close() }
}

/// An in-memory writer (small objects).
final class CollectingWriter: ObjectWriter {
    private(set) var bytes: [UInt8] = []
    func write(_ chunk: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: chunk) }
    func commit() throws -> StoredDigest { StoredDigest(sha256: SHA256Hasher.hex(of: bytes), bytes: Int64(bytes.count)) }
    func abort() {}
}

/// An in-memory reader (small objects).
final class BytesReader: ObjectReader {
    private let bytes: [UInt8]
    private var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - offset)
        if n > 0 { bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) } }
        offset += n
        return n
    }
    var digest: StoredDigest { StoredDigest(sha256: SHA256Hasher.hex(of: bytes), bytes: Int64(bytes.count)) }
    func close() {}
}
