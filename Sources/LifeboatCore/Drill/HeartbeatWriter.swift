import Foundation

/// Writes a heartbeat every `interval` into the live sources during a failover drill: a
/// timestamped row into PostgreSQL (`lifeboat_heartbeat`, created if absent) and a key in Redis
/// (`lifeboat:heartbeat`, the time in milliseconds). After recovery, the newest heartbeat present
/// on the standby gives the RPO measured, not assumed: kill time − that heartbeat.
final class HeartbeatWriter: @unchecked Sendable {
    static let table = "lifeboat_heartbeat"
    static let key = "lifeboat:heartbeat"

    private let condition = NSCondition()
    private var running = true
    private var finished = false
    private(set) var written: [String: Int] = [:]
    private(set) var lastAcknowledged: [String: Date] = [:]
    private(set) var errors: [String: String] = [:]

    /// Starts writing to `postgres` and `redis` sources (name → adapter) on a thread.
    init(postgres: [(String, PostgresAdapter)], redis: [(String, RedisAdapter)], interval: TimeInterval) throws {
        var pg: [(String, PostgresConnection)] = []
        for (name, adapter) in postgres {
            let connection = try adapter.endpoint.connect(database: adapter.database)
            try connection.query(
                "CREATE TABLE IF NOT EXISTS \(Self.table) (id bigserial PRIMARY KEY, t timestamptz NOT NULL DEFAULT clock_timestamp())")
            pg.append((name, connection))
        }
        var rd: [(String, RESPClient)] = []
        for (name, adapter) in redis { rd.append((name, try adapter.connect(timeout: 2))) }
        // The connections belong to the writer thread from here on.
        let pgConnections = pg
        nonisolated(unsafe) let redisClients = rd
        Thread.detachNewThread { [self] in
            let pg = pgConnections
            let rd = redisClients
            while isRunning {
                for (name, connection) in pg where errors[name] == nil {
                    do {
                        try connection.query("INSERT INTO \(Self.table) DEFAULT VALUES")
                        record(name)
                    } catch let error as LifeboatError { fail(name, error.message) } catch { fail(name, "\(error)") }
                }
                for (name, client) in rd where errors[name] == nil {
                    do {
                        try client.expect("SET", Self.key, String(Int64(Date().timeIntervalSince1970 * 1000)))
                        record(name)
                    } catch let error as LifeboatError { fail(name, error.message) } catch { fail(name, "\(error)") }
                }
                Thread.sleep(forTimeInterval: interval)
            }
            condition.lock()
            finished = true
            condition.broadcast()
            condition.unlock()
        }
    }

    private var isRunning: Bool {
        condition.lock()
        defer { condition.unlock() }
        return running
    }

    private func record(_ name: String) {
        condition.lock()
        written[name, default: 0] += 1
        lastAcknowledged[name] = Date()
        condition.unlock()
    }

    private func fail(_ name: String, _ message: String) {
        condition.lock()
        errors[name] = message
        condition.unlock()
    }

    /// Stops writing and waits for the thread.
    func stop() {
        condition.lock()
        running = false
        while !finished { condition.wait() }
        condition.unlock()
    }

    /// The newest heartbeat a recovered PostgreSQL holds.
    static func newest(in connection: PostgresConnection) throws -> Date? {
        try connection.value("SELECT to_char(max(t) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM \(table)").flatMap(Timestamp.parse)
    }

    /// The newest heartbeat a recovered Redis holds.
    static func newest(in client: RESPClient) throws -> Date? {
        try client.expect("GET", key).text.flatMap(Double.init).map { Date(timeIntervalSince1970: $0 / 1000) }
    }
}
