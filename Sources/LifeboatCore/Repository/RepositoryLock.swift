import Foundation

/// The one-writer lock: an exclusive `flock` on `REPO/lock`, whose content names the holder
/// (pid, host, time, command). The kernel releases the flock when the holder dies, even by
/// SIGKILL, so a lock left by a killed process never blocks; its stale content is reported.
public final class RepositoryLock {
    /// Who holds (or held) the lock.
    public struct Holder: Codable, Sendable, CustomStringConvertible {
        public var pid: Int32
        public var host: String
        public var time: String
        public var command: String
        public var description: String { "pid \(pid) on \(host) since \(time) (\(command))" }
    }

    private let fd: Int32
    private let path: String
    /// The holder recorded by a previous process that died without releasing, if any.
    public let staleHolder: Holder?

    /// Takes the lock or fails at once with `.locked`, naming the current holder.
    public init(repository: Repository, command: String) throws {
        path = repository.lockPath
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LifeboatError.system("cannot open lock file", path: path) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            var holder: Holder?
            for _ in 0..<20 {  // the holder writes its name right after taking the lock
                holder = RepositoryLock.readHolder(fd)
                if holder != nil { break }
                usleep(10_000)
            }
            close(fd)
            guard code == EWOULDBLOCK else { throw LifeboatError.system("cannot lock", path: path, errno: code) }
            let who = holder.map { "\($0)" } ?? "another process"
            throw LifeboatError(.locked, "repository \(repository.root) is locked by \(who)",
                                fix: "wait for it to finish; a lock held by a process that died is released by the kernel")
        }
        let previous = RepositoryLock.readHolder(fd)
        staleHolder = previous
        let me = Holder(pid: getpid(), host: ProcessInfo.processInfo.hostName,
                        time: Timestamp.rfc3339(Date()), command: command)
        let bytes = Array((try? JSONEncoder().encode(me)) ?? Data())
        ftruncate(fd, 0)
        _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    /// Releases the lock and clears the holder record.
    deinit {
        ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
    }

    fileprivate static func readHolder(_ fd: Int32) -> Holder? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return try? JSONDecoder().decode(Holder.self, from: Data(buffer[0..<n]))
    }
}

extension RepositoryLock {
    /// The live holder of the lock, or nil when nobody holds it (probed without taking it over).
    public static func currentHolder(of repository: Repository) -> Holder? {
        let fd = open(repository.lockPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        return readHolder(fd)
    }
}
