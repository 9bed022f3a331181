import Foundation

/// The lock of an S3 repository, in the manner of restic: each holder puts `locks/<random>.json`
/// (its holder record, with its mode), then lists `locks/`. A live record in the way (any other
/// one for an exclusive lock; an exclusive one for a shared lock) means ours is deleted and the
/// call fails naming them; two holders racing both back off, neither proceeds. A background
/// thread reads the record back and re-puts it every `refreshEvery`. A record is stale (ignored,
/// removed, reported) when it was not refreshed for `staleAfter`, or at once when it names a
/// process on this host that no longer exists.
///
/// A holder that has not refreshed for `lostAfter` (less than `staleAfter`, so before anyone may
/// take its record for stale), or that finds its record gone, has lost the lock: it trips the
/// process's cancellation, and `confirm` fails, so it commits nothing.
///
/// Test hooks: `LIFEBOAT_LOCK_STALE_SECONDS` scales the timings (default 600 s); with
/// `LIFEBOAT_STALL_LOCK_REFRESH=1` the background refresh never succeeds, as with a network down.
final class S3Lock: StorageLock, @unchecked Sendable {
    static let staleAfter: TimeInterval = {
        ProcessInfo.processInfo.environment["LIFEBOAT_LOCK_STALE_SECONDS"].flatMap(TimeInterval.init).map { max($0, 1) } ?? 600
    }()
    static var refreshEvery: TimeInterval { staleAfter / 10 }
    static var lostAfter: TimeInterval { staleAfter - 2 * refreshEvery }
    private static let stallRefresh = ProcessInfo.processInfo.environment["LIFEBOAT_STALL_LOCK_REFRESH"] == "1"

    struct Record: Codable {
        var holder: RepositoryLock.Holder
        var refreshed: String
        /// True once its holder released it without being allowed to delete it (credentials
        /// that may not delete under `locks/`): then it holds nothing, and an exclusive holder
        /// (an admin prune) removes it.
        var released: Bool?
    }

    private let storage: S3Storage
    private let key: String
    private let holder: RepositoryLock.Holder
    private let condition = NSCondition()
    // Under `condition`.
    private var released = false
    private var refresherRunning = false
    private var lastRefreshed: Date
    private var lostError: LifeboatError?
    /// One refresh at a time (the background one or `confirm`'s).
    private let refreshing = NSLock()
    private(set) var staleHolder: RepositoryLock.Holder?
    let alone: Bool

    init(storage: S3Storage, holder: RepositoryLock.Holder, mode: RepositoryLock.Mode) throws {
        var holder = holder
        holder.mode = mode
        self.storage = storage
        self.holder = holder
        let key = "locks/\(Hex.random(bytes: 8)).json"
        self.key = key
        let before = Date()
        try storage.put(key, try Self.encode(holder))
        lastRefreshed = before
        let others = try Self.records(storage, skippingOld: mode == .shared).filter { $0.key != key }
        var stale: RepositoryLock.Holder?
        var live: [RepositoryLock.Holder] = []
        var inTheWay: [RepositoryLock.Holder] = []
        for (otherKey, record) in others {
            if record.released == true {
                // Left by a holder that could not delete it; an exclusive holder tidies up.
                if mode == .exclusive { try? storage.delete(otherKey) }
            } else if Self.isStale(record) {
                stale = record.holder
                try? storage.delete(otherKey)
            } else {
                live.append(record.holder)
                if mode == .exclusive || record.holder.effectiveMode == .exclusive { inTheWay.append(record.holder) }
            }
        }
        guard inTheWay.isEmpty else {
            Self.remove(key, holder, storage)
            throw RepositoryLock.held(location: storage.location, by: inTheWay, wanted: mode)
        }
        alone = live.isEmpty
        staleHolder = stale
        refresherRunning = true
        let thread = Thread { [self] in refreshLoop() }
        thread.name = "lifeboat-s3-lock"
        thread.start()
    }

    private func refreshLoop() {
        condition.lock()
        var wait = Self.refreshEvery
        while !released && lostError == nil {
            _ = condition.wait(until: Date().addingTimeInterval(wait))
            if released { break }
            condition.unlock()
            let failure: RefreshFailure? = Self.stallRefresh ? .failed("refresh stalled (LIFEBOAT_STALL_LOCK_REFRESH)") : refresh()
            condition.lock()
            if let failure {
                let age = Date().timeIntervalSince(lastRefreshed)
                if case .gone(let why) = failure {
                    lose(why)
                } else if case .failed(let why) = failure, age > Self.lostAfter {
                    lose("not refreshed for \(Int(age)) s (\(why))")
                }
                wait = max(Self.refreshEvery / 4, 0.1)  // try again sooner
            } else {
                wait = Self.refreshEvery
            }
        }
        refresherRunning = false
        condition.broadcast()
        condition.unlock()
    }

    private enum RefreshFailure {
        /// The record is gone: someone took it for stale. The lock is lost at once.
        case gone(String)
        /// The storage did not answer; lost only once this lasts `lostAfter`.
        case failed(String)

        var reason: String {
            switch self {
            case .gone(let why), .failed(let why): why
            }
        }
    }

    /// Reads the record back and re-puts it; nil on success, else what failed.
    private func refresh() -> RefreshFailure? {
        refreshing.lock()
        defer { refreshing.unlock() }
        let before = Date()
        do {
            guard try storage.get(key) != nil else { return .gone("its lock object \(key) was removed, taken for stale by another process") }
            try storage.put(key, try Self.encode(holder))
        } catch {
            return .failed("\(error)")
        }
        condition.lock()
        lastRefreshed = max(lastRefreshed, before)
        condition.unlock()
        return nil
    }

    /// Under `condition`.
    private func lose(_ why: String) {
        guard lostError == nil else { return }
        let error = RepositoryLock.lost(location: storage.location, why)
        lostError = error
        Cancellation.process.trip(error)
    }

    func confirm() throws {
        condition.lock()
        let age = Date().timeIntervalSince(lastRefreshed)
        if lostError == nil && age > Self.lostAfter { lose("not refreshed for \(Int(age)) s") }
        if let lostError {
            condition.unlock()
            throw lostError
        }
        condition.unlock()
        if let failure = refresh() {
            condition.lock()
            lose(failure.reason)
            let error = lostError!
            condition.unlock()
            throw error
        }
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
        Self.remove(key, holder, storage)
    }

    /// Deletes a record of ours; where the credentials may not delete it, re-puts it marked
    /// released, so that it holds nothing from now on.
    private static func remove(_ key: String, _ holder: RepositoryLock.Holder, _ storage: S3Storage) {
        do {
            try storage.delete(key)
        } catch {
            try? storage.put(key, try encode(holder, released: true))
        }
    }

    deinit { release() }

    static func encode(_ holder: RepositoryLock.Holder, released: Bool = false) throws -> [UInt8] {
        Array(try JSONEncoder().encode(Record(holder: holder, refreshed: Timestamp.rfc3339(Date()), released: released ? true : nil)))
    }

    /// The records under `locks/`, each read; with `skippingOld`, not those the listing shows
    /// were not written for `staleAfter` plus 5 minutes of clock skew (they hold nothing). Where
    /// released records may not be deleted they pile up until an exclusive holder (an admin
    /// prune) reads and removes them; until then they cost shared holders no GET.
    static func records(_ storage: S3Storage, skippingOld: Bool = false) throws -> [(key: String, record: Record)] {
        let longAgo = Date().addingTimeInterval(-(staleAfter + 300))
        return try storage.list("locks/").compactMap { object in
            if skippingOld, let modified = object.modified, modified < longAgo { return nil }
            guard let bytes = try storage.get(object.key), let record = try? JSONDecoder().decode(Record.self, from: Data(bytes)) else { return nil }
            return (object.key, record)
        }
    }

    static func isStale(_ record: Record) -> Bool {
        if record.holder.host == ProcessInfo.processInfo.hostName && kill(record.holder.pid, 0) != 0 && errno == ESRCH { return true }
        guard let refreshed = Timestamp.parse(record.refreshed) else { return true }
        return Date().timeIntervalSince(refreshed) > staleAfter
    }

    /// Locks that are neither released nor stale.
    static func liveHolders(_ storage: S3Storage) throws -> [Record] {
        try records(storage, skippingOld: true).map(\.record).filter { $0.released != true && !isStale($0) }
    }
}
