import Foundation

/// The repository lock, in two modes. Writers that only add (`backup`, `run`'s backups,
/// `forget`, `migrate`) and readers that must not see data vanish (`restore`, `verify`,
/// `drill`) share it, so a fleet of hosts backs up into one repository at once; `prune`, which
/// deletes what no snapshot references, holds it alone. Listing and `wal push`/`wal fetch`
/// take none (see docs/FORMAT.md, "Lock"). A directory
/// repository uses `flock` (`DiskLock`), an S3 repository refreshed lock objects (`S3Lock`);
/// both name every holder, and both let a holder that died stop blocking.
///
/// Held for a scope (`RepositoryLock.with`), never by an object's lifetime. A lock that could not
/// be refreshed in time is lost: it trips the process's `Cancellation`, and `confirm()`, which a
/// writer calls right before its commit, fails.
public final class RepositoryLock: @unchecked Sendable {
    public enum Mode: String, Codable, Sendable {
        case shared, exclusive
    }

    /// Who holds (or held) the lock.
    public struct Holder: Codable, Sendable, CustomStringConvertible {
        public var pid: Int32
        public var host: String
        public var time: String
        public var command: String
        /// nil in records written by builds that had one mode only (exclusive).
        public var mode: Mode?
        public var description: String { "pid \(pid) on \(host) since \(time) (\(command))" }
        public init(pid: Int32, host: String, time: String, command: String, mode: Mode? = nil) {
            self.pid = pid
            self.host = host
            self.time = time
            self.command = command
            self.mode = mode
        }
        /// Old records count as exclusive.
        var effectiveMode: Mode { mode ?? .exclusive }
    }

    /// When the lock was taken.
    public let taken: Date
    private let held: any StorageLock
    /// The records of earlier holders that died without releasing, if any were found.
    public var staleHolder: Holder? { held.staleHolder }
    /// True when nobody else held the lock when it was taken: then any temporary that was
    /// started before `taken` belongs to a writer that is gone.
    public var alone: Bool { held.alone }

    /// Takes the lock or fails at once with `.locked`, naming the holders in the way.
    public init(repository: Repository, mode: Mode, command: String) throws {
        taken = Date()
        let me = Holder(
            pid: getpid(), host: ProcessInfo.processInfo.hostName,
            time: Timestamp.rfc3339(taken), command: command, mode: mode)
        held = try repository.storage.acquireLock(me, mode: mode)
    }

    /// Runs `body` under the lock and releases it afterwards, whatever `body` did.
    public static func with<T>(
        _ repository: Repository, _ mode: Mode, command: String,
        _ body: (RepositoryLock) throws -> T
    ) throws -> T {
        let lock = try RepositoryLock(repository: repository, mode: mode, command: command)
        defer { lock.release() }
        return try body(lock)
    }

    public static func with<T>(
        _ repository: Repository, _ mode: Mode, command: String,
        _ body: (RepositoryLock) async throws -> T
    ) async throws -> T {
        let lock = try RepositoryLock(repository: repository, mode: mode, command: command)
        defer { lock.release() }
        return try await body(lock)
    }

    /// Runs `body` (a restore, a verify, a drill) under a shared lock, so that no prune deletes
    /// or repacks what it reads meanwhile. A prune holding the lock fails it at once (exit 5).
    /// When no lock can be taken for another reason (a read-only repository, credentials that may
    /// only read), `body` runs without one after `warn` says so.
    public static func reading<T>(
        _ repository: Repository, command: String, warn: (String) -> Void,
        _ body: () async throws -> T
    ) async throws -> T {
        let lock: RepositoryLock
        do {
            lock = try RepositoryLock(repository: repository, mode: .shared, command: command)
        } catch let error as LifeboatError where error.code != .locked {
            warn("reading without a lock (\(error.message)): a prune that starts meanwhile could remove what this reads")
            return try await body()
        }
        defer { lock.release() }
        return try await body()
    }

    /// Proves the lock is still held, right before a commit: on S3 the lock object is read back
    /// and refreshed now. Fails with "lock lost" (exit 1) when it was removed or not refreshed in
    /// time; the commit must then not happen.
    public func confirm() throws {
        try Cancellation.process.check()
        try held.confirm()
    }

    public func release() { held.release() }

    /// The error for a lock someone else holds.
    public static func held(location: String, by holders: [Holder], wanted: Mode) -> LifeboatError {
        let who = holders.isEmpty ? "another process" : holders.map { "\($0)" }.joined(separator: "; ")
        let why = wanted == .exclusive ? "; this command needs the repository to itself" : ", which holds it exclusively"
        return LifeboatError(
            .locked, "repository \(location) is locked by \(who)\(why)",
            fix: "wait for it to finish; a lock held by a process that died is released (on S3: at once on the same host, after 10 minutes elsewhere)"
        )
    }

    /// The error for a lock that was lost while held.
    public static func lost(location: String, _ why: String) -> LifeboatError {
        LifeboatError(
            .operationFailed, "lock lost on \(location): \(why); nothing was committed",
            fix: "check the connection to the repository and run the command again; `prune` removes what this run stored")
    }

    /// The live holders of the lock, empty when nobody holds it.
    public static func currentHolders(of repository: Repository) -> [Holder] {
        repository.storage.lockHolders()
    }
}
