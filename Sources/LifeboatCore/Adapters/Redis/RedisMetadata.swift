import Foundation

/// What a Redis component's manifest records, read in one place (restore and drills).
struct RedisMetadata {
    /// Keys in the server at capture (INFO keyspace), all databases.
    var keysTotal: Int64?
    /// The RDB format version and the server version that wrote it.
    var rdbVersion: Int64?
    var redisVersion: String?

    init(_ component: Manifest.Component) {
        let m = component.metadata
        keysTotal = m["keys_total"]?.intValue
        rdbVersion = m["rdb_version"]?.intValue
        redisVersion = m["redis_version"]?.stringValue
    }
}
