import Foundation

/// Writes a heartbeat every `interval` into the live sources during a failover drill: a
/// timestamped row into PostgreSQL (`lifeboat_heartbeat`, created if absent) and a key in Redis
/// (`lifeboat:heartbeat`, the time in milliseconds). After recovery, the newest heartbeat present
/// on the standby gives the RPO measured, not assumed: kill time − that heartbeat. Each
/// acknowledged heartbeat's mark (the row's id, the key's value; both increase) is kept, so the
/// acknowledged writes a recovery lost are counted, not estimated.
final class HeartbeatWriter: @unchecked Sendable {
    static let table = "lifeboat_heartbeat"
    static let key = "lifeboat:heartbeat"

    private let condition = NSCondition()
    private var running = true
    private var finished = false
    private(set) var lastAcknowledged: [String: Date] = [:]
    /// Per source, the marks of the heartbeats the server acknowledged, in order; their count is
    /// the heartbeats written.
    private(set) var acknowledged: [String: [Int64]] = [:]
    /// Per source, the first write that failed and when (after the kill, every write fails).
    private(set) var errors: [String: (message: String, at: Date)] = [:]

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
                        let id = try connection.value("INSERT INTO \(Self.table) DEFAULT VALUES RETURNING id").flatMap { Int64($0) }
                        record(name, mark: id ?? 0)
                    } catch let error as LifeboatError { fail(name, error.message) } catch { fail(name, "\(error)") }
                }
                for (name, client) in rd where errors[name] == nil {
                    do {
                        let mark = Int64(Date().timeIntervalSince1970 * 1000)
                        try client.expect("SET", Self.key, String(mark))
                        record(name, mark: mark)
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

    private func record(_ name: String, mark: Int64) {
        condition.lock()
        acknowledged[name, default: []].append(mark)
        lastAcknowledged[name] = Date()
        condition.unlock()
    }

    private func fail(_ name: String, _ message: String) {
        condition.lock()
        errors[name] = (message, Date())
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
    static func newest(in connection: PostgresConnection) throws -> Heartbeat? {
        let rows = try connection.query(
            "SELECT id, to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM \(table) ORDER BY id DESC LIMIT 1")
        guard let row = rows.first, let mark = row[0].flatMap({ Int64($0) }), let time = row[1].flatMap(Timestamp.parse) else { return nil }
        return Heartbeat(mark: mark, time: time)
    }

    /// The ids of the heartbeat rows from `first` on that a recovered PostgreSQL holds, ascending.
    static func marks(in connection: PostgresConnection, from first: Int64) throws -> [Int64] {
        try connection.query("SELECT id FROM \(table) WHERE id >= \(first) ORDER BY id").compactMap { $0[0].flatMap { Int64($0) } }
    }

    /// The newest heartbeat a recovered Redis holds.
    static func newest(in client: RESPClient) throws -> Heartbeat? {
        guard let mark = try client.expect("GET", key).text.flatMap({ Int64($0) }) else { return nil }
        return Heartbeat(mark: mark, time: Date(timeIntervalSince1970: Double(mark) / 1000))
    }
}

/// One heartbeat found in a recovered source: its mark (PostgreSQL's row id, the Redis key's
/// value in milliseconds) and when it was written.
struct Heartbeat: Sendable {
    let mark: Int64
    let time: Date

    /// How many of `acknowledged` (one drill's marks, in order) a recovery that holds `newest`
    /// lost: those after it, or all of them when it holds none of this drill's.
    static func lost(_ acknowledged: [Int64], newest: Heartbeat?) -> Int {
        guard let newest else { return acknowledged.count }
        return acknowledged.filter { $0 > newest.mark }.count
    }

    /// The `heartbeats: recovered` check: every acknowledged mark up to the newest one
    /// recovered is among the marks `present`, so the recovery has no hole before its end (a
    /// commit lost in the middle of the replayed WAL). Marks after the newest are the writes
    /// lost, reported by the drill, not a failure of this check.
    static func holes(acknowledged: [Int64], present: [Int64]) -> (passed: Bool, detail: String) {
        guard let newest = present.last, let first = acknowledged.first, newest >= first else {
            return (false, "none of the \(acknowledged.count) heartbeat rows this drill wrote is present")
        }
        let present = present.filter { $0 >= first }
        let expected = acknowledged.filter { $0 <= newest }
        let found = Set(present)
        let missing = expected.filter { !found.contains($0) }
        let unacknowledged = found.subtracting(acknowledged).count
        let extra = unacknowledged == 0 ? "" : "; \(unacknowledged) more written but not acknowledged before the kill"
        guard missing.isEmpty else {
            let shown = missing.prefix(5).map(String.init).joined(separator: ", ")
            return (
                false,
                "\(missing.count) of the \(expected.count) rows acknowledged up to the newest recovered (id \(newest)) are missing: id \(shown)\(missing.count > 5 ? ", …" : "")"
            )
        }
        return (true, "all \(expected.count) rows acknowledged up to the newest recovered (id \(newest)) are present\(extra)")
    }
}
