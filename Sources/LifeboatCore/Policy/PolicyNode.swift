import Foundation
import Yams

/// A node of a YAML input (policy, plan) with its file and position, so that every validation
/// error can say `file:line:column`, what is wrong and how to fix it.
public struct PolicyNode {
    public let node: Node
    public let file: String
    /// Dotted path of this node from the document root, e.g. `sources.cfg.path`.
    public let keyPath: String

    public init(node: Node, file: String, keyPath: String = "") {
        self.node = node
        self.file = file
        self.keyPath = keyPath
    }

    /// Parses YAML text into its root node; a syntax error names its line and column.
    public static func parse(_ text: String, file: String) throws -> PolicyNode {
        do {
            guard let root = try Yams.compose(yaml: text) else {
                throw LifeboatError(
                    .invalidInput, "\(file) is empty", fix: "write a policy; see policies/ for examples",
                    location: .init(file: file, line: 1, column: 1))
            }
            return PolicyNode(node: root, file: file)
        } catch let error as YamlError {
            if case .duplicatedKeysInMapping(let duplicates, _) = error, let key = duplicates.first {
                throw duplicateKey(key, in: text, file: file)
            }
            throw syntaxError(error, file: file)
        }
    }

    /// Where this node starts.
    public var location: LifeboatError.Location {
        LifeboatError.Location(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    /// An invalid-input error pointing at this node.
    public func error(_ message: String, fix: String? = nil) -> LifeboatError {
        let subject = keyPath.isEmpty ? "" : "\(keyPath): "
        return LifeboatError(.invalidInput, subject + message, fix: fix, location: location)
    }

    /// The node as a mapping of string keys, in document order; unknown keys are refused with a
    /// did-you-mean taken from `allowed`.
    public func mapping(allowed: [String]? = nil) throws -> [(key: String, value: PolicyNode)] {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping (key: value lines), found \(kindName)") }
        var seen = Set<String>()
        var result: [(String, PolicyNode)] = []
        for (keyNode, valueNode) in mapping {
            let keyLocation = PolicyNode(node: keyNode, file: file, keyPath: keyPath)
            guard case .scalar(let scalar) = keyNode else { throw keyLocation.error("keys must be plain strings") }
            let key = scalar.string
            if let allowed, !allowed.contains(key) {
                let suggestion = Spelling.suggestion(for: key, among: allowed)
                throw keyLocation.error(
                    "unknown key \"\(key)\"",
                    fix: "\(suggestion)allowed keys here: \(allowed.joined(separator: ", "))")
            }
            guard seen.insert(key).inserted else { throw keyLocation.error("key \"\(key)\" appears twice") }
            result.append((key, child(valueNode, key: key)))
        }
        return result
    }

    /// The node as a list.
    public func sequence() throws -> [PolicyNode] {
        guard case .sequence(let sequence) = node else { throw error("expected a list, found \(kindName)") }
        return sequence.enumerated().map { child($1, key: "[\($0)]") }
    }

    /// The node as a non-empty string scalar.
    public func string() throws -> String {
        guard case .scalar(let scalar) = node else { throw error("expected a string, found \(kindName)") }
        guard !scalar.string.isEmpty else { throw error("must not be empty") }
        return scalar.string
    }

    /// The node as a whole number.
    public func integer() throws -> Int {
        guard case .scalar(let scalar) = node, let value = Int(scalar.string) else {
            throw error("expected a whole number, found \(describeValue)")
        }
        return value
    }

    /// The node as a TCP port, 1–65535.
    public func port() throws -> Int {
        let value = try integer()
        guard (1...65535).contains(value) else { throw error("port \(value) is out of range", fix: "use 1–65535") }
        return value
    }

    /// The node as a positive duration (`90s`, `10m`, `1h`), in seconds.
    public func seconds() throws -> Double {
        let text = try string()
        guard let seconds = Objectives.seconds(parsing: text), seconds > 0 else {
            throw error("invalid duration \"\(text)\"", fix: "write e.g. 10m or 1h")
        }
        return seconds
    }

    /// The node as a boolean (`true`/`false`, `yes`/`no`).
    public func bool() throws -> Bool {
        guard case .scalar(let scalar) = node else { throw error("expected true or false, found \(kindName)") }
        switch scalar.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("expected true or false, found \"\(scalar.string)\"")
        }
    }

    private func child(_ node: Node, key: String) -> PolicyNode {
        let path = key.hasPrefix("[") || keyPath.isEmpty ? keyPath + key : keyPath + "." + key
        return PolicyNode(node: node, file: file, keyPath: path)
    }

    private var kindName: String {
        switch node {
        case .scalar(let s): return "the value \"\(s.string)\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    private var describeValue: String { kindName }

    /// A key given twice in one mapping, located at its second occurrence (Yams reports only
    /// the mapping's start).
    static func duplicateKey(_ key: String, in text: String, file: String) -> LifeboatError {
        var first: (line: Int, indent: Int)?
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let indent = line.prefix { $0 == " " }.count
            let rest = line.dropFirst(indent)
            let quoted = [key, "\"\(key)\"", "'\(key)'"]
            guard quoted.contains(where: { rest.hasPrefix($0 + ":") || rest.hasPrefix($0 + " :") }) else { continue }
            if let first, first.indent == indent {
                return LifeboatError(
                    .invalidInput, "key \"\(key)\" appears twice in one mapping (first at line \(first.line))",
                    fix: "keep one \"\(key)\" and merge what the two say",
                    location: .init(file: file, line: number + 1, column: indent + 1))
            }
            if first == nil { first = (number + 1, indent) }
        }
        return LifeboatError(
            .invalidInput, "key \"\(key)\" appears twice in one mapping", fix: "keep one \"\(key)\"",
            location: .init(file: file, line: 1, column: 1))
    }

    private static func syntaxError(_ error: YamlError, file: String) -> LifeboatError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = context.map { "\(problem) \($0.text)" } ?? problem
            return LifeboatError(
                .invalidInput, "YAML syntax error: \(detail)",
                fix: "check indentation and quoting at this line",
                location: .init(file: file, line: mark.line, column: mark.column))
        default:
            return LifeboatError(.invalidInput, "YAML error: \(error)", location: .init(file: file, line: 1, column: 1))
        }
    }
}

/// Did-you-mean suggestions by edit distance.
enum Spelling {
    /// `did you mean "X"? ` for a likely typo of one of `candidates`, else "".
    static func suggestion(for word: String, among candidates: [String]) -> String {
        closest(to: word, among: candidates).map { "did you mean \"\($0)\"? " } ?? ""
    }

    /// The candidate closest to `word`, if it is close enough to be a likely typo.
    static func closest(to word: String, among candidates: [String]) -> String? {
        let scored = candidates.map { ($0, distance(word.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        return best.1 <= max(2, word.count / 3) ? best.0 : nil
    }

    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
