import Foundation

/// `lifeboat retention plan`: what a rule set keeps for a list of snapshot times, without a
/// repository. Reads one RFC 3339 timestamp per line and renders the decision as JSON or text.
public struct RetentionPlan {
    /// The timestamps as written (trimmed), in input order.
    public let texts: [String]
    public let decisions: [Retention.Decision]

    /// Parses `data` (one timestamp per line; blank lines ignored) and applies `retention`.
    /// A line that is not RFC 3339 is invalid input naming `source:line`.
    public init(data: Data, source: String, retention: Retention) throws {
        var texts: [String] = []
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
                var a = start, b = end
                while a < b && (bytes[a] == 32 || bytes[a] == 9) { a += 1 }
                while b > a && (bytes[b - 1] == 32 || bytes[b - 1] == 9 || bytes[b - 1] == 13) { b -= 1 }
                if b > a {
                    let slice = UnsafeBufferPointer(rebasing: bytes[a..<b])
                    if let instant = Instant.parse(slice) {
                        times.append(instant)
                        texts.append(String(decoding: slice, as: UTF8.self))
                    } else {
                        let text = String(decoding: slice.prefix(60), as: UTF8.self)
                        failure = LifeboatError(.invalidInput, "\"\(text)\" is not an RFC 3339 timestamp",
                                                fix: "write one timestamp per line, e.g. 2026-11-22T02:00:00Z or 2026-11-22T03:00:00+01:00",
                                                location: .init(file: source, line: line, column: a - start + 1))
                    }
                }
                start = end + 1
            }
        }
        if let failure { throw failure }
        self.texts = texts
        decisions = retention.apply(times)
    }

    /// `{"keep":[{"time":…,"reasons":[…]}],"remove":[{"time":…}]}`, newest first, written by hand
    /// because a million entries through `JSONEncoder` take seconds.
    public func json() -> String {
        var keep: [String] = []
        var remove: [String] = []
        for d in decisions {
            let time = Self.quote(texts[d.index])
            if d.kept {
                keep.append("{\"time\":\(time),\"reasons\":[\(d.reasons.map(Self.quote).joined(separator: ","))]}")
            } else {
                remove.append("{\"time\":\(time)}")
            }
        }
        return "{\"keep\":[" + keep.joined(separator: ",") + "],\"remove\":[" + remove.joined(separator: ",") + "]}\n"
    }

    /// One line per snapshot, newest first: `keep   TIME  reasons` or `remove TIME`.
    public func text() -> String {
        var out = ""
        for d in decisions {
            out += d.kept ? "keep    \(texts[d.index])  \(d.reasons.joined(separator: ", "))\n" : "remove  \(texts[d.index])\n"
        }
        let kept = decisions.filter(\.kept).count
        out += "\(kept) kept, \(decisions.count - kept) removed\n"
        return out
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
