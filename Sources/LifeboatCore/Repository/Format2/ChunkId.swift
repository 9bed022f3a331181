/// A chunk's identity in a format-2 repository: the SHA-256 of its plaintext, or in an encrypted
/// repository HMAC-SHA256 under the repository's id key, so stored ids say nothing about the
/// content to someone without that key.
///
/// Held inline as four big-endian words (no heap allocation: a store indexes a million of them),
/// so comparing the words in order compares the bytes.
public struct ChunkId: Hashable, Comparable, Sendable, CustomStringConvertible {
    let w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    public init<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        precondition(bytes.count == 32, "a chunk id is 32 bytes")
        var words: [UInt64] = [0, 0, 0, 0]
        for (i, byte) in bytes.enumerated() { words[i / 8] = words[i / 8] << 8 | UInt64(byte) }
        (w0, w1, w2, w3) = (words[0], words[1], words[2], words[3])
    }

    public init?(hex: String) {
        guard hex.count == 64, let bytes = Hex.decode(hex), bytes.count == 32 else { return nil }
        self.init(bytes: bytes)
    }

    /// The 32 bytes.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for word in [w0, w1, w2, w3] {
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return out
    }

    /// The first eight bytes as a number: ids are uniformly distributed, so this is a hash.
    var prefix64: UInt64 { w0 }

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }

    public static func < (a: ChunkId, b: ChunkId) -> Bool { (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3) }
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
    /// Where reading stops (a trailer after it is not read; the bytes are not copied).
    let end: Int
    let what: String

    init(_ bytes: [UInt8], end: Int? = nil, what: String) {
        self.bytes = bytes
        self.end = end ?? bytes.count
        self.what = what
    }

    /// Whether every byte before `end` was read.
    var atEnd: Bool { at == end }

    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, at + n <= end else { throw LifeboatError(.integrity, "\(what) is truncated at byte \(at)") }
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
