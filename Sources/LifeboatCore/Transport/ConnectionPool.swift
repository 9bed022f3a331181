import Foundation

/// Idle keep-alive connections to one endpoint, shared by the threads of one HTTP client: a
/// request takes one (or opens a new one), and gives it back once its response was read whole.
/// A connection the server closed while idle is dropped, not reused.
final class ConnectionPool: @unchecked Sendable {
    let endpoint: Endpoint
    let timeout: TimeInterval
    let label: String
    let capacity: Int
    private let lock = NSLock()
    private var idle: [any Connection] = []
    private var count = 0

    /// How many connections this pool opened (the benchmarks and tests count them).
    var opened: Int { lock.withLock { count } }

    init(endpoint: Endpoint, timeout: TimeInterval, label: String, capacity: Int = 8) {
        self.endpoint = endpoint
        self.timeout = timeout
        self.label = label
        self.capacity = capacity
    }

    deinit { for connection in idle { connection.close() } }

    /// An idle connection that still works, or nil.
    func reuse() -> (any Connection)? {
        while let connection = lock.withLock({ idle.popLast() }) {
            if !connection.isStale { return connection }
            connection.close()
        }
        return nil
    }

    func open() throws -> any Connection {
        let connection = try endpoint.connect(timeout: timeout, label: label)
        lock.withLock { count += 1 }
        return connection
    }

    /// Keeps `connection` for the next request (closed when the pool is full).
    func giveBack(_ connection: any Connection) {
        let kept = lock.withLock {
            guard idle.count < capacity else { return false }
            idle.append(connection)
            return true
        }
        if !kept { connection.close() }
    }
}
