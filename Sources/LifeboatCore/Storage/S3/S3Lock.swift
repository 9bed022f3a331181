import Foundation

/// The one-writer lock of an S3 repository, in the manner of restic: each writer puts
/// `locks/<random>.json` (its holder record), then lists `locks/`. Any other live lock means
/// someone else holds the repository: ours is deleted and the call fails naming them (two
/// writers racing both back off; neither proceeds). A background thread refreshes the record
/// every minute. A lock is stale (ignored, removed, reported) when it was not refreshed for
/// `staleAfter`, or at once when it names a process on this host that no longer exists.
final class S3Lock: StorageLock, @unchecked Sendable {
    static let staleAfter: TimeInterval = 600
    static let refreshEvery: TimeInterval = 60

    struct Record: Codable {
        var holder: RepositoryLock.Holder
        var refreshed: String
    }

    private let storage: S3Storage
    private let key: String
    private let holder: RepositoryLock.Holder
    private let condition = NSCondition()
    private var released = false
    private var refresherRunning = false
    private(set) var staleHolder: RepositoryLock.Holder?

    init(storage: S3Storage, holder: RepositoryLock.Holder) throws {
        self.storage = storage
        self.holder = holder
        let key = "locks/\(Hex.random(bytes: 8)).json"
        self.key = key
        try storage.put(key, try Self.encode(holder))
        let others = try Self.records(storage).filter { $0.key != key }
        var stale: RepositoryLock.Holder?
        for (otherKey, record) in others {
            if Self.isStale(record) {
                stale = record.holder
                try? storage.delete(otherKey)
            } else {
                try? storage.delete(key)
                throw RepositoryLock.held(location: storage.location, by: record.holder)
            }
        }
        staleHolder = stale
        refresherRunning = true
        let thread = Thread { [self] in refreshLoop() }
        thread.name = "lifeboat-s3-lock"
        thread.start()
    }

    private func refreshLoop() {
        condition.lock()
        while !released {
            _ = condition.wait(until: Date().addingTimeInterval(Self.refreshEvery))
            if released { break }
            condition.unlock()
            if let bytes = try? Self.encode(holder) { try? storage.put(key, bytes) }
            condition.lock()
        }
        refresherRunning = false
        condition.broadcast()
        condition.unlock()
    }

    func release() {
        condition.lock()
        guard !released else {
            condition.unlock()
            return
        }
        released = true
        condition.broadcast()
        while refresherRunning { condition.wait() }
        condition.unlock()
        try? storage.delete(key)
    }

    deinit { release() }

    static func encode(_ holder: RepositoryLock.Holder) throws -> [UInt8] {
        Array(try JSONEncoder().encode(Record(holder: holder, refreshed: Timestamp.rfc3339(Date()))))
    }

    static func records(_ storage: S3Storage) throws -> [(key: String, record: Record)] {
        try storage.list("locks/").compactMap { object in
            guard let bytes = try storage.get(object.key), let record = try? JSONDecoder().decode(Record.self, from: Data(bytes)) else { return nil }
            return (object.key, record)
        }
    }

    static func isStale(_ record: Record) -> Bool {
        if record.holder.host == ProcessInfo.processInfo.hostName && kill(record.holder.pid, 0) != 0 && errno == ESRCH { return true }
        guard let refreshed = Timestamp.parse(record.refreshed) else { return true }
        return Date().timeIntervalSince(refreshed) > staleAfter
    }

    /// Locks that are not stale.
    static func liveHolders(_ storage: S3Storage) throws -> [Record] {
        try records(storage).map(\.record).filter { !isStale($0) }
    }
}
