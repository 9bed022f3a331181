import Foundation
import Testing

@testable import LifeboatCore

/// The encrypted object format: every size round-trips, and truncation, reordering, extension,
/// a flipped bit, a swapped header or the wrong key never yield plaintext.
@Suite struct SealedObjectTests {
    static let repositoryId = "0123456789abcdef"

    func symmetricKeys() throws -> RepositoryKeys {
        let key = AESGCM.randomBytes(32)
        let path = NSTemporaryDirectory() + "lifeboat-key-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: path, contents: Data(key), attributes: [.posixPermissions: 0o600])
        defer { unlink(path) }
        let config = EncryptionConfig(mode: .symmetric, keyCheck: RepositoryKeys.keyCheck(key, repositoryId: Self.repositoryId))
        return try RepositoryKeys(config: config, repositoryId: Self.repositoryId, keyFile: path, privateKeyFile: nil)
    }

    func publicKeys() throws -> (writeOnly: RepositoryKeys, full: RepositoryKeys) {
        let stem = NSTemporaryDirectory() + "lifeboat-x25519-\(UUID().uuidString)"
        let files = try KeyPairFiles.generate(stem: stem)
        defer {
            unlink(files.publicPath)
            unlink(files.privatePath)
        }
        let config = EncryptionConfig(mode: .publicKey, publicKey: Data(try RepositoryKeys.readPublicKey(files.publicPath)).base64EncodedString())
        return (
            try RepositoryKeys(config: config, repositoryId: Self.repositoryId, keyFile: nil, privateKeyFile: nil),
            try RepositoryKeys(config: config, repositoryId: Self.repositoryId, keyFile: nil, privateKeyFile: files.privatePath)
        )
    }

    static let chunk = SealedObject.chunkSize

    @Test(arguments: [0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk + 17])
    func everySizeRoundTrips(size: Int) throws {
        let plaintext = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        for keys in [try symmetricKeys(), try publicKeys().full] {
            let sealed = try SealedObject.seal(plaintext, keys: keys)
            #expect(try SealedObject.open(sealed, keys: keys) == plaintext)
            if size > 64 { #expect(sealed.count > size && !sealed.prefix(4096).elementsEqual(plaintext.prefix(4096))) }
        }
    }

    @Test func writeOnlyKeysSealButCannotOpen() throws {
        let (writeOnly, full) = try publicKeys()
        #expect(writeOnly.canSeal && !writeOnly.canOpen)
        let sealed = try SealedObject.seal(Array("secret rows".utf8), keys: writeOnly)
        #expect(throws: LifeboatError.self) { _ = try SealedObject.open(sealed, keys: writeOnly) }
        #expect(try SealedObject.open(sealed, keys: full) == Array("secret rows".utf8))
    }

    @Test func tamperingNeverYieldsPlaintext() throws {
        let keys = try symmetricKeys()
        let plaintext = (0..<(3 * Self.chunk)).map { UInt8(truncatingIfNeeded: $0) }
        let sealed = try SealedObject.seal(plaintext, keys: keys)
        let header = SealedObject.headerSize(mode: 1)
        let sealedChunk = Self.chunk + AESGCM.tagSize
        var flipped = sealed
        flipped[header + sealedChunk + 100] ^= 1
        let truncatedAtABoundary = Array(sealed.prefix(header + 2 * sealedChunk))
        var reordered = Array(sealed.prefix(header))
        reordered += sealed[(header + sealedChunk)..<(header + 2 * sealedChunk)]
        reordered += sealed[header..<(header + sealedChunk)]
        reordered += sealed[(header + 2 * sealedChunk)...]
        let extended = sealed + sealed.suffix(sealedChunk)
        let otherHeader = Array(try SealedObject.seal(plaintext, keys: keys).prefix(header)) + sealed.dropFirst(header)
        for (what, bytes) in [
            ("flipped", flipped), ("truncated", truncatedAtABoundary), ("reordered", reordered),
            ("extended", extended), ("header swapped", otherHeader),
        ] {
            #expect(throws: LifeboatError.self, "\(what)") { _ = try SealedObject.open(bytes, keys: keys) }
        }
        #expect(throws: LifeboatError.self, "another key") { _ = try SealedObject.open(sealed, keys: try symmetricKeys()) }
    }

    @Test func keyFilesReadableByOthersAreRefused() throws {
        let path = NSTemporaryDirectory() + "lifeboat-key-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: path, contents: Data(AESGCM.randomBytes(32)), attributes: [.posixPermissions: 0o644])
        defer { unlink(path) }
        #expect { _ = try RepositoryKeys.readSymmetricKey(path) } throws: { error in
            (error as? LifeboatError)?.code == .invalidInput && (error as? LifeboatError)?.fix?.contains("chmod 600") == true
        }
    }
}
