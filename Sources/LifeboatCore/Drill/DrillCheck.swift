import Foundation

/// A check a drill runs on a restored target: `sql` (with `expect: VALUE` or `compare: live`),
/// `redis: keys` (the snapshot's key count) or `redis: digest` (`compare: live` or `expect`),
/// `files: entries` (every entry of the snapshot is there), `heartbeats: recovered` (failover
/// drills, PostgreSQL: every heartbeat row acknowledged before the newest one recovered is there).
public enum DrillCheck: Sendable {
    case sql(query: String, expect: String?)
    case sqlCompareLive(query: String)
    case redisKeys
    case redisDigest(expect: String?)
    case filesEntries
    case heartbeatsRecovered

    static let keys = ["sql", "expect", "compare", "redis", "files", "heartbeats", "name"]

    static func parse(_ node: PolicyNode) throws -> DrillCheck {
        var fields: [String: PolicyNode] = [:]
        for (k, v) in try node.mapping(allowed: keys) { fields[k] = v }
        let compareLive: Bool
        if let compare = fields["compare"] {
            guard try compare.string() == "live" else { throw compare.error("compare must be `live`", fix: "or give `expect: VALUE`") }
            compareLive = true
        } else {
            compareLive = false
        }
        let expect = try fields["expect"]?.string()
        if let sql = fields["sql"] {
            let query = try sql.string()
            if compareLive { return .sqlCompareLive(query: query) }
            guard expect != nil else { throw node.error("an sql check needs `expect: VALUE` or `compare: live`") }
            return .sql(query: query, expect: expect)
        }
        if let redis = fields["redis"] {
            switch try redis.string() {
            case "keys": return .redisKeys
            case "digest":
                guard compareLive || expect != nil else { throw node.error("a digest check needs `compare: live` or `expect: DIGEST`") }
                return .redisDigest(expect: compareLive ? nil : expect)
            case let other: throw redis.error("unknown redis check \"\(other)\"", fix: "use keys or digest")
            }
        }
        if let files = fields["files"] {
            guard try files.string() == "entries" else { throw files.error("unknown files check", fix: "use entries") }
            return .filesEntries
        }
        if let heartbeats = fields["heartbeats"] {
            guard try heartbeats.string() == "recovered" else { throw heartbeats.error("unknown heartbeats check", fix: "use recovered") }
            return .heartbeatsRecovered
        }
        throw node.error("unknown check", fix: "use sql, redis, files or heartbeats")
    }

    /// For reports: `sql: SELECT count(*) … = 500000`.
    public var name: String {
        switch self {
        case .sql(let q, let e): return "sql: \(q) = \(e ?? "")"
        case .sqlCompareLive(let q): return "sql: \(q) equals the live source"
        case .redisKeys: return "redis: key count equals the snapshot's"
        case .redisDigest(let e): return e == nil ? "redis: DEBUG DIGEST equals the live server's" : "redis: DEBUG DIGEST = \(e!)"
        case .filesEntries: return "files: every entry of the snapshot is restored"
        case .heartbeatsRecovered: return "heartbeats: every row acknowledged up to the newest recovered is present"
        }
    }
}
