import Foundation

/// What a structural parse of an RDB found: per-database key counts (with the expiry of each key
/// that has one, so the count a server will hold after loading at a given time is exact), empty
/// keys (which Redis skips with a notice), the modules whose values it holds, and its functions.
public struct RDBSummary: Sendable, Equatable {
    public struct Database: Sendable, Equatable {
        /// Keys with a value Redis loads (empty keys are not counted).
        public var keys = 0
        /// Of them, keys without an expiry.
        public var persistent = 0
        /// Expiry (milliseconds since the epoch) of each of the others.
        var expiries: [Int64] = []
        /// The RESIZEDB hint: the number of keys the server had when it wrote the file.
        public var sizeHint: Int?

        /// Keys a master holds right after loading the file at `time`: Redis drops keys whose
        /// expiry is already past.
        public func alive(at time: Date) -> Int {
            let ms = Int64((time.timeIntervalSince1970 * 1000).rounded(.down))
            return persistent + expiries.reduce(0) { $0 + ($1 >= ms ? 1 : 0) }
        }
    }

    public var version = 0
    public var databases: [Int: Database] = [:]
    public var emptyKeys = 0
    /// Names of the modules whose values or aux data the file holds (the server must load them).
    public var modules: Set<String> = []
    public var functions = 0
    /// The `redis-ver` aux field.
    public var redisVersion: String?
    /// Set when the parse stopped before the end because the file uses a value type this build
    /// does not parse (a newer Redis); the CRC still covers the whole file.
    public var notParsed: String?

    public var keys: Int { databases.values.reduce(0) { $0 + $1.keys } }

    /// Anomalies Redis loads through: each is a warning, not a failure.
    public var warnings: [String] {
        var out: [String] = []
        if emptyKeys > 0 {
            out.append("the RDB holds \(emptyKeys) empty key\(emptyKeys == 1 ? "" : "s"), which Redis skips when it loads")
        }
        for (db, counts) in databases.sorted(by: { $0.key < $1.key }) {
            if let hint = counts.sizeHint, hint != counts.keys + emptyKeysIn(db) {
                out.append("db\(db): the RDB announces \(hint) keys and holds \(counts.keys)")
            }
        }
        if !modules.isEmpty {
            out.append(
                "the RDB holds data of module\(modules.count == 1 ? "" : "s") \(modules.sorted().joined(separator: ", ")): the target server must load \(modules.count == 1 ? "it" : "them")"
            )
        }
        if let notParsed { out.append("structure checked up to \(notParsed); the rest is covered by the CRC only") }
        return out
    }

    var emptyByDatabase: [Int: Int] = [:]
    private func emptyKeysIn(_ db: Int) -> Int { emptyByDatabase[db] ?? 0 }

    /// Metadata recorded in the manifest: keys per database (`{"db0": n}`).
    public var keysMetadata: JSONValue {
        .object(Dictionary(uniqueKeysWithValues: databases.map { ("db\($0.key)", JSONValue.int(Int64($0.value.keys))) }))
    }
}
