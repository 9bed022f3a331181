import Foundation
import Testing

@testable import LifeboatCore

/// Format-2 blobs: one zstd frame per chunk through libzstd, read back exactly, and blobs that
/// earlier builds wrote through libarchive's zstd filter still read.
@Suite struct BlobCodecTests {
    static func text(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while out.count < count {
            out.append(contentsOf: Array("line \(i) status=200 path=/api/v1/search\n".utf8))
            i += 1
        }
        return Array(out.prefix(count))
    }

    @Test(arguments: [0, 1, 10_000, 1 << 20, 4 << 20])
    func aBlobRoundTripsAndCompressibleTextShrinks(count: Int) throws {
        let plain = Self.text(count)
        let stored = try plain.withUnsafeBytes { try BlobCodec.compress($0, .zstd(level: 3)) }
        if count >= 10_000 { #expect(stored.count < count / 4) }
        #expect(try BlobCodec.decompress(stored, codec: .zstd, length: count, what: "blob") == plain)
    }

    @Test func aBlobThatEarlierBuildsWroteThroughLibarchiveStillReads() throws {
        let plain = Self.text(3 << 20) + FastCDCTests.random(1 << 20, seed: 5)
        let compressor = try ZstdCompressor(level: 3)
        var stored: [UInt8] = []
        try plain.withUnsafeBytes { try compressor.compress($0) { stored.append(contentsOf: $0) } }
        try compressor.finish { stored.append(contentsOf: $0) }
        #expect(try BlobCodec.decompress(stored, codec: .zstd, length: plain.count, what: "blob") == plain)
    }

    @Test func aDamagedOrMislabelledBlobIsAnIntegrityErrorNamingIt() throws {
        let plain = Self.text(200_000)
        let stored = try plain.withUnsafeBytes { try BlobCodec.compress($0, .zstd(level: 3)) }
        func integrity(_ bytes: [UInt8], length: Int) -> String? {
            do {
                _ = try BlobCodec.decompress(bytes, codec: .zstd, length: length, what: "chunk 1234")
                return nil
            } catch let error as LifeboatError {
                return error.code == .integrity ? error.message : "not integrity: \(error)"
            } catch { return "unexpected \(error)" }
        }
        var flipped = stored
        flipped[stored.count / 2] ^= 0x40
        let damaged = integrity(flipped, length: plain.count)
        // zstd frames carry no checksum by default: a flip inside a literal run can decode to other
        // bytes of the right length, which the chunk id check (ChunkStore.read) then catches.
        if let damaged { #expect(damaged.contains("chunk 1234")) }
        #expect(integrity(Array(stored.prefix(stored.count - 9)), length: plain.count)?.contains("chunk 1234") == true)
        #expect(integrity(stored, length: plain.count - 1)?.contains("expands to \(plain.count) bytes, the index says") == true)
        #expect(integrity(stored, length: plain.count - 100)?.contains("expands beyond its") == true)
        #expect(integrity(stored, length: plain.count + 1)?.contains("expands to \(plain.count) bytes") == true)
    }
}
