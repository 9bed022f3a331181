import Foundation

/// The one-writer lock: backups, `run`, `forget` and `prune` hold it; readers and `wal push`
/// never take it. A directory repository uses `flock` (`DiskLock`), an S3 repository lock
/// objects (`S3Lock`); both name the holder (pid, host, time, command) and both let a holder
/// that died stop blocking.
public final class RepositoryLock {
    /// Who holds (or held) the lock.
    public struct Holder: Codable, Sendable, CustomStringConvertible {
        public var pid: Int32
        public var host: String
        public var time: String
        public var command: String
        public var description: String { "pid \(pid) on \(host) since \(time) (\(command))" }
        public init(pid: Int32, host: String, time: String, command: String) {
            self.pid = pid
            self.host = host
            self.time = time
            self.command = command
        }
    }

    private let held: any StorageLock
    /// The holder recorded by a previous process that died without releasing, if any.
    public var staleHolder: Holder? { held.staleHolder }

    /// Takes the lock or fails at once with `.locked`, naming the current holder.
    public init(repository: Repository, command: String) throws {
        let me = Holder(pid: getpid(), host: ProcessInfo.processInfo.hostName,
                        time: Timestamp.rfc3339(Date()), command: command)
        held = try repository.storage.acquireLock(me)
    }

    deinit { held.release() }

    /// The error for a lock someone else holds.
    static func held(location: String, by holder: Holder?) -> LifeboatError {
        let who = holder.map { "\($0)" } ?? "another process"
        return LifeboatError(.locked, "repository \(location) is locked by \(who)",
                             fix: "wait for it to finish; a lock held by a process that died is released (on S3: at once on the same host, after 10 minutes elsewhere)")
    }

    /// The live holder of the lock, or nil when nobody holds it.
    public static func currentHolder(of repository: Repository) -> Holder? {
        repository.storage.lockHolder()
    }
}
