import Foundation
import Synchronization

/// The background half of `wal push --async`: one process per spool (an exclusive `flock` of
/// `pusher.lock`) that stores spooled files in the repository, `parallel` at a time, and removes
/// each once it is stored. It also reads ahead: files PostgreSQL has marked ready
/// (`pg_wal/archive_status/NAME.ready`) that are not spooled yet are stored straight from pg_wal
/// and marked `NAME.pushed`, so archive_command often finds its file stored already.
///
/// - Every store is `WALArchive.push`: committed whole, named by content, idempotent. A pusher
///   killed at any point leaves each file either spooled (pushed again by the next pusher; the
///   repository says already-archived) or stored. Nothing is removed from the spool before the
///   repository holds it.
/// - A failed store stays spooled; the pusher records the failure in `pusher.json`, waits (0.5 s
///   doubling to 30 s) and tries again for as long as anything is queued.
/// - Linked spooled files (`--link`) are watched while they wait: one PostgreSQL recycles is
///   copied out before the server reuses it (`WALSpool.rescueRecycled`).
/// - With nothing to do for `idle` seconds it releases the lock, looks once more (a file spooled
///   while it held the lock, whose archive_command saw it running), and exits or carries on.
public struct WALPusher: Sendable {
    public let spool: WALSpool
    public let archive: WALArchive
    /// The server's pg_wal, for reading ahead (nil: spooled files only).
    public let pgWal: String?
    public let parallel: Int
    public let idle: TimeInterval
    public let metricsFile: String?

    public init(spool: WALSpool, archive: WALArchive, pgWal: String?, parallel: Int, idle: TimeInterval = 20, metricsFile: String? = nil) {
        self.spool = spool
        self.archive = archive
        self.pgWal = pgWal.map(FileIO.absolute)
        self.parallel = max(1, parallel)
        self.idle = idle
        self.metricsFile = metricsFile
    }

    /// One file to store.
    struct Work: Sendable {
        var name: String
        var path: String
        /// Read ahead from pg_wal (else spooled).
        var ahead: Bool
    }

    /// Runs until idle. Returns nil at once when another pusher holds the spool.
    public func run() throws -> WALPusherState? {
        try FileIO.makeDirectory(spool.directory, mode: 0o700)
        let lock = open(spool.lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw LifeboatError.system("cannot open", path: spool.lockPath) }
        defer { close(lock) }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else { return nil }
        let previous = spool.state()
        var state = WALPusherState(pid: getpid(), started: Date(), updated: Date())
        state.failure = previous?.failure
        spool.record(state)
        var lastWork = Date()
        var backoff: TimeInterval = 0
        while true {
            spool.sweep(pgWal: pgWal)
            if let pgWal, !spool.rescueRecycled(pgWal: pgWal).isEmpty { CrashPoint.reach("wal-pusher-after-rescue") }
            let work = pending()
            if work.isEmpty {
                if Date().timeIntervalSince(lastWork) < idle {
                    usleep(100_000)
                    continue
                }
                flock(lock, LOCK_UN)
                if spool.queued().isEmpty { break }
                guard flock(lock, LOCK_EX | LOCK_NB) == 0 else { break }  // another pusher has it
                continue
            }
            lastWork = Date()
            let failed = store(work, state: &state)
            publish(&state)
            if failed {
                backoff = min(max(0.5, backoff * 2), 30)
                let until = Date().addingTimeInterval(backoff)
                while Date() < until {
                    if let pgWal { spool.rescueRecycled(pgWal: pgWal) }  // the repository may be down for long
                    usleep(100_000)
                }
            } else {
                backoff = 0
            }
        }
        publish(&state)
        return state
    }

    /// Spooled files, then up to `2 × parallel` ready files not spooled or stored yet.
    func pending() -> [Work] {
        let queued = spool.queued().map { Work(name: $0.name, path: spool.directory + "/" + $0.name, ahead: false) }
        guard let pgWal, queued.count < parallel else { return queued }
        let taken = Set(queued.map(\.name)).union(spool.pushedAhead())
        let ready = ((try? FileManager.default.contentsOfDirectory(atPath: pgWal + "/archive_status")) ?? [])
            .filter { $0.hasSuffix(".ready") }.map { String($0.dropLast(6)) }
            .filter { WALArchive.isValidName($0) && !taken.contains($0) }.sorted()
            .prefix(2 * parallel - queued.count)
        return queued + ready.map { Work(name: $0, path: pgWal + "/" + $0, ahead: true) }
    }

    /// Stores `work`, `parallel` at a time; true when a spooled file failed.
    private func store(_ work: [Work], state: inout WALPusherState) -> Bool {
        let outcomes = ParallelWork.map(work, width: parallel) { item -> Result<Void, Error>? in
            do {
                _ = try archive.push(path: item.path, source: item.ahead ? .readAhead : .spooled)
                CrashPoint.reach("wal-pusher-after-store")
                if item.ahead {
                    spool.markPushedAhead(item.name, path: item.path)
                } else {
                    unlink(item.path)
                }
                return .success(())
            } catch is WALArchive.SourceMoved {
                return nil  // archive_command handed it over meanwhile: it is spooled
            } catch  where item.ahead && !FileIO.exists(item.path) {
                return nil  // recycled by PostgreSQL once spooled
            } catch {
                return .failure(error)
            }
        }
        var failed = false
        for (item, outcome) in zip(work, outcomes) {
            switch outcome {
            case .success?:
                state.pushed += 1
                if item.name > (state.lastPushed ?? "") {
                    state.lastPushed = item.name
                }
                state.lastPushedAt = Date()
            case .failure(let error)?:
                failed = true
                let message = (error as? LifeboatError)?.message ?? "\(error)"
                if var failure = state.failure, failure.name == item.name {
                    failure.attempts += 1
                    failure.message = message
                    state.failure = failure
                } else {
                    state.failure = .init(name: item.name, message: message, since: Date(), attempts: 1)
                }
            case nil:
                continue
            }
        }
        if !failed { state.failure = nil }
        return failed
    }

    /// Records the state (`pusher.json`) and, with `--metrics-file`, the spool's metrics.
    private func publish(_ state: inout WALPusherState) {
        state.updated = Date()
        spool.record(state)
        guard let metricsFile else { return }
        try? PrometheusMetrics.write(PrometheusMetrics.walSpool(WALSpoolStatus(spool: spool, now: Date())), to: metricsFile)
    }
}

/// Blocking work on `width` threads of its own (I/O-bound uploads, which Swift's cooperative
/// pool of one thread per core would serialize); results in the items' order.
enum ParallelWork {
    static func map<Item: Sendable, Output: Sendable>(
        _ items: [Item], width: Int, _ body: @escaping @Sendable (Item) -> Output
    ) -> [Output] {
        let results = Mutex([Output?](repeating: nil, count: items.count))
        let next = Mutex(0)
        let group = DispatchGroup()
        for _ in 0..<max(1, min(width, items.count)) {
            group.enter()
            Thread.detachNewThread {
                while true {
                    let index = next.withLock { (n: inout Int) -> Int in
                        defer { n += 1 }
                        return n
                    }
                    guard index < items.count else { break }
                    let output = body(items[index])
                    results.withLock { $0[index] = output }
                }
                group.leave()
            }
        }
        group.wait()
        return results.withLock { $0.map { $0! } }
    }
}
