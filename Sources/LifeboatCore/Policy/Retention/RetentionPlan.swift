import Foundation

/// `lifeboat retention plan`: what a rule set keeps for a list of snapshot times, without a
/// repository. Reads one RFC 3339 timestamp per line and renders the decision as JSON or text.
public struct RetentionPlan {
    /// The input, and where each timestamp stands in it (trimmed), in input order.
    private let data: Data
    private let ranges: [Range<Int>]
    public let retention: Retention
    public let decisions: [Retention.Decision]

    /// The timestamp of input line `index` as written.
    public func text(_ index: Int) -> String {
        String(decoding: data[ranges[index]], as: UTF8.self)
    }

    /// Parses `data` (one timestamp per line; blank lines ignored) and applies `retention`.
    /// A line that is not RFC 3339 is invalid input naming `source:line`.
    public init(data: Data, source: String, retention: Retention) throws {
        var ranges: [Range<Int>] = []
        var times: [Instant] = []
        var failure: LifeboatError?
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = raw.bindMemory(to: UInt8.self)
            var start = 0
            var line = 0
            while start < bytes.count, failure == nil {
                var end = start
                while end < bytes.count && bytes[end] != 10 { end += 1 }
                line += 1
                var a = start
                var b = end
                while a < b && (bytes[a] == 32 || bytes[a] == 9) { a += 1 }
                while b > a && (bytes[b - 1] == 32 || bytes[b - 1] == 9 || bytes[b - 1] == 13) { b -= 1 }
                if b > a {
                    let slice = UnsafeBufferPointer(rebasing: bytes[a..<b])
                    if let instant = Instant.parse(slice) {
                        times.append(instant)
                        ranges.append(a..<b)
                    } else {
                        let text = String(decoding: slice.prefix(60), as: UTF8.self)
                        failure = LifeboatError(
                            .invalidInput, "\"\(text)\" is not an RFC 3339 timestamp",
                            fix: "write one timestamp per line, e.g. 2026-11-22T02:00:00Z or 2026-11-22T03:00:00+01:00",
                            location: .init(file: source, line: line, column: a - start + 1))
                    }
                }
                start = end + 1
            }
        }
        if let failure { throw failure }
        self.data = data
        self.ranges = ranges
        self.retention = retention
        decisions = retention.apply(times)
    }

    /// `{"keep":[{"time":…,"reasons":[…]}],"remove":[{"time":…}]}`, newest first, written as
    /// bytes by hand because a million entries through `JSONEncoder` take seconds.
    public func json() -> Data {
        var reasonJSON: [UInt8: [UInt8]] = [:]
        var keep: [UInt8] = Array(#"{"keep":["#.utf8)
        var remove: [UInt8] = Array(#""remove":["#.utf8)
        keep.reserveCapacity(decisions.count * 48)
        var firstKeep = true
        var firstRemove = true
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            for d in decisions {
                let time = Self.quote(raw, ranges[d.index])
                if d.kept {
                    if !firstKeep { keep.append(44) }
                    firstKeep = false
                    keep += Array(#"{"time":"#.utf8) + time + Array(#","reasons":["#.utf8)
                    if reasonJSON[d.matches.rawValue] == nil {
                        reasonJSON[d.matches.rawValue] = Array(retention.reasons(d.matches).map(Self.quote).joined(separator: ",").utf8)
                    }
                    keep += reasonJSON[d.matches.rawValue]!
                    keep += Array("]}".utf8)
                } else {
                    if !firstRemove { remove.append(44) }
                    firstRemove = false
                    remove += Array(#"{"time":"#.utf8) + time + [125]
                }
            }
        }
        return Data(keep + Array("],".utf8) + remove + Array("]}\n".utf8))
    }

    /// One line per snapshot, newest first: `keep   TIME  reasons` or `remove TIME`.
    public func text() -> String {
        var out = ""
        for d in decisions {
            out += d.kept ? "keep    \(text(d.index))  \(retention.reasons(d.matches).joined(separator: ", "))\n" : "remove  \(text(d.index))\n"
        }
        let kept = decisions.filter(\.kept).count
        out += "\(kept) kept, \(decisions.count - kept) removed\n"
        return out
    }

    /// A timestamp straight from the input as a JSON string (only plain ASCII reaches here: the
    /// parser accepted it as RFC 3339).
    static func quote(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) -> [UInt8] {
        [34] + Array(raw[range]) + [34]
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}
