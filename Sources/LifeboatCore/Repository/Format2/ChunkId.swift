/// A chunk's identity in a format-2 repository: the SHA-256 of its plaintext, or in an encrypted
/// repository HMAC-SHA256 under the repository's id key, so stored ids say nothing about the
/// content to someone without that key.
public struct ChunkId: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "a chunk id is 32 bytes")
        self.bytes = bytes
    }

    public init?(hex: String) {
        guard hex.count == 64, let bytes = Hex.decode(hex), bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }

    public static func < (a: ChunkId, b: ChunkId) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
}

/// Little-endian integer fields of the binary format-2 objects.
struct BinaryWriter {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
    mutating func raw(_ v: [UInt8]) { bytes += v }
}

struct BinaryReader {
    let bytes: [UInt8]
    var at = 0
    let what: String

    init(_ bytes: [UInt8], what: String) {
        self.bytes = bytes
        self.what = what
    }

    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, at + n <= bytes.count else { throw LifeboatError(.integrity, "\(what) is truncated at byte \(at)") }
        defer { at += n }
        return bytes[at..<(at + n)]
    }
    mutating func u8() throws -> UInt8 { try take(1).first! }
    mutating func u32() throws -> UInt32 { try take(4).enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) } }
    mutating func u64() throws -> UInt64 { try take(8).enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) } }
    mutating func raw(_ n: Int) throws -> [UInt8] { Array(try take(n)) }
    mutating func expect(_ magic: String) throws {
        guard try raw(magic.utf8.count) == Array(magic.utf8) else { throw LifeboatError(.integrity, "\(what) does not start with \(magic)") }
    }
}
