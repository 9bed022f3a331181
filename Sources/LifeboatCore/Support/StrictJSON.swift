import Foundation

/// Checks that a stored JSON document holds nothing but what its decoded value re-encodes to:
/// a key this build does not know (added by hand, or by a bit flip in a key name) is damage,
/// since no checksum computed over the decoded value covers it.
enum StrictJSON {
    /// SHA-256 (hex) of the canonical encoding of `value`: keys sorted, no insignificant
    /// whitespace, slashes unescaped. What manifests and `config.json` store as `checksum`
    /// (computed over the value with its own `checksum` removed).
    static func checksum<T: Encodable>(of value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return SHA256Hasher.hex(of: try encoder.encode(value))
    }

    /// A description of the first content of `data` that `decoded` does not carry, or nil.
    static func unknownContent<T: Encodable>(_ data: Data, decoded: T) -> String? {
        guard let stored = try? JSONSerialization.jsonObject(with: data),
            let again = try? JSONSerialization.jsonObject(with: JSONEncoder().encode(decoded))
        else {
            return "content that does not re-encode"
        }
        return difference(stored, again, path: "")
    }

    private static func difference(_ stored: Any, _ known: Any, path: String) -> String? {
        if let a = stored as? [String: Any], let b = known as? [String: Any] {
            for key in a.keys.sorted() {
                guard let value = b[key] else { return "an unknown key \"\(path)\(key)\"" }
                if let d = difference(a[key]!, value, path: "\(path)\(key).") { return d }
            }
            return nil
        }
        if let a = stored as? [Any], let b = known as? [Any] {
            guard a.count == b.count else { return "a list \"\(path)\" of another length" }
            for (i, pair) in zip(a, b).enumerated() {
                if let d = difference(pair.0, pair.1, path: "\(path)\(i).") { return d }
            }
        }
        return nil
    }
}
