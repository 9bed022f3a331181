import Foundation

/// Pulls the bytes of an RDB one field at a time from a source of chunks, knowing its offset, so
/// every structural error names where it is. Large strings are skipped (and their LZF validated)
/// without being held in memory; only what must be inspected (packed encodings, set members) is
/// materialised.
final class RDBReader {
    private let pull: () throws -> [UInt8]?
    private var buffer: [UInt8] = []
    private var position = 0
    /// Absolute offset of the next byte.
    private(set) var offset: Int64 = 0

    init(pull: @escaping () throws -> [UInt8]?) {
        self.pull = pull
    }

    convenience init(bytes: [UInt8]) {
        var given = false
        self.init { () -> [UInt8]? in
            defer { given = true }
            return given ? nil : bytes
        }
    }

    func corrupt(_ what: String, at: Int64? = nil) -> LifeboatError {
        LifeboatError(.integrity, "RDB structure is corrupt at offset \(at ?? offset): \(what)")
    }

    /// False at the end of the input.
    private func fill() throws -> Bool {
        while position == buffer.count {
            guard let next = try pull() else { return false }
            buffer = next
            position = 0
        }
        return true
    }

    func atEnd() throws -> Bool { try !fill() }

    /// Reads to the end; returns how many bytes that was.
    func drain() throws -> Int64 {
        let start = offset
        while try fill() {
            offset += Int64(buffer.count - position)
            position = buffer.count
        }
        return offset - start
    }

    func byte(_ what: @autoclosure () -> String = "a byte") throws -> UInt8 {
        guard try fill() else { throw truncated(what()) }
        let b = buffer[position]
        position += 1
        offset += 1
        return b
    }

    func truncated(_ what: String) -> LifeboatError {
        LifeboatError(.integrity, "RDB is truncated at offset \(offset) while reading \(what)")
    }

    /// Exactly `count` bytes.
    func bytes(_ count: Int, _ what: @autoclosure () -> String) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(min(count, 1 << 20))  // a damaged length must not allocate gigabytes
        while out.count < count {
            guard try fill() else { throw truncated(what()) }
            let take = min(count - out.count, buffer.count - position)
            out += buffer[position..<(position + take)]
            position += take
            offset += Int64(take)
        }
        return out
    }

    func skip(_ count: UInt64, _ what: @autoclosure () -> String) throws {
        var left = count
        while left > 0 {
            guard try fill() else { throw truncated(what()) }
            let take = Int(min(left, UInt64(buffer.count - position)))
            position += take
            offset += Int64(take)
            left -= UInt64(take)
        }
    }

    func littleEndian(_ width: Int, _ what: @autoclosure () -> String) throws -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<width { value |= UInt64(try byte(what())) << (8 * UInt64(i)) }
        return value
    }

    func bigEndian(_ width: Int, _ what: @autoclosure () -> String) throws -> UInt64 {
        var value: UInt64 = 0
        for _ in 0..<width { value = value << 8 | UInt64(try byte(what())) }
        return value
    }

    // MARK: RDB lengths and strings

    enum Length {
        case plain(UInt64)
        /// The special string encodings: 0 int8, 1 int16, 2 int32, 3 LZF.
        case encoded(UInt8)
    }

    func length(_ what: @autoclosure () -> String) throws -> Length {
        let b = try byte(what())
        switch b >> 6 {
        case 0: return .plain(UInt64(b & 0x3f))
        case 1: return .plain(UInt64(b & 0x3f) << 8 | UInt64(try byte(what())))
        case 2:
            switch b {
            case 0x80: return .plain(try bigEndian(4, what()))
            case 0x81: return .plain(try bigEndian(8, what()))
            default: throw corrupt(String(format: "unknown length encoding 0x%02x in %@", b, what()), at: offset - 1)
            }
        default: return .encoded(b & 0x3f)
        }
    }

    func plainLength(_ what: @autoclosure () -> String) throws -> UInt64 {
        let at = offset
        guard case .plain(let n) = try length(what()) else { throw corrupt("\(what()) is a string encoding, not a length", at: at) }
        return n
    }

    /// A count of elements, sanity-bounded so a flipped length cannot make us loop for days.
    func count(_ what: @autoclosure () -> String) throws -> Int {
        let at = offset
        let n = try plainLength(what())
        guard n <= 1 << 40 else { throw corrupt("\(what()) \(n) is not plausible", at: at) }
        return Int(n)
    }

    /// Reads a string without keeping it; returns its decoded length. LZF strings are validated
    /// as a stream (every back reference inside the output so far, output exactly as announced).
    @discardableResult
    func skipString(_ what: @autoclosure () -> String) throws -> UInt64 {
        let at = offset
        switch try length(what()) {
        case .plain(let n):
            try skip(n, what())
            return n
        case .encoded(0):
            try skip(1, what())
            return 1
        case .encoded(1):
            try skip(2, what())
            return 2
        case .encoded(2):
            try skip(4, what())
            return 4
        case .encoded(3):
            let (compressed, expanded) = try lzfLengths(what())
            try LZF.validate(compressedLength: compressed, expandedLength: expanded, reader: self, what: what())
            return expanded
        case .encoded(let e):
            throw corrupt("unknown string encoding \(e) in \(what())", at: at)
        }
    }

    /// Reads a string whole into `out`, reusing its storage (the per-key path: no allocation per
    /// key for plain strings).
    func string(into out: inout [UInt8], _ what: @autoclosure () -> String) throws {
        let at = offset
        let length = try length(what())
        guard case .plain(let n) = length else {
            out = try string(length, at: at, what())
            return
        }
        guard n <= 1 << 34 else { throw corrupt("\(what()) of \(n) bytes is not plausible", at: at) }
        out.removeAll(keepingCapacity: true)
        var left = Int(n)
        while left > 0 {
            guard try fill() else { throw truncated(what()) }
            let take = min(left, buffer.count - position)
            out += buffer[position..<(position + take)]
            position += take
            offset += Int64(take)
            left -= take
        }
    }

    /// Reads a string whole (integers as their decimal text, LZF expanded).
    func string(_ what: @autoclosure () -> String) throws -> [UInt8] {
        let at = offset
        return try string(try length(what()), at: at, what())
    }

    private func string(_ length: Length, at: Int64, _ what: @autoclosure () -> String) throws -> [UInt8] {
        switch length {
        case .plain(let n):
            guard n <= 1 << 34 else { throw corrupt("\(what()) of \(n) bytes is not plausible", at: at) }
            return try bytes(Int(n), what())
        case .encoded(0): return Array(String(Int8(truncatingIfNeeded: try littleEndian(1, what()))).utf8)
        case .encoded(1): return Array(String(Int16(truncatingIfNeeded: try littleEndian(2, what()))).utf8)
        case .encoded(2): return Array(String(Int32(truncatingIfNeeded: try littleEndian(4, what()))).utf8)
        case .encoded(3):
            let (compressed, expanded) = try lzfLengths(what())
            guard expanded <= 1 << 34 else { throw corrupt("\(what()) expanding to \(expanded) bytes is not plausible", at: at) }
            let input = try bytes(Int(compressed), what())
            // No LZF expands more than 88 times (3 input bytes for 264 output bytes).
            guard expanded <= compressed * 88 + 1, let output = LZF.expand(input, to: Int(expanded)) else {
                throw corrupt("\(what()): LZF data does not expand to the \(expanded) bytes announced", at: at)
            }
            return output
        case .encoded(let e):
            throw corrupt("unknown string encoding \(e) in \(what())", at: at)
        }
    }

    private func lzfLengths(_ what: @autoclosure () -> String) throws -> (UInt64, UInt64) {
        let compressed = try plainLength("\(what()) (LZF compressed length)")
        let expanded = try plainLength("\(what()) (LZF length)")
        guard compressed > 0, expanded > 0 else { throw corrupt("\(what()): LZF string with a zero length") }
        return (compressed, expanded)
    }
}
