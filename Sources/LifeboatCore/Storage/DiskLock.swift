import Foundation

/// The one-writer lock of a directory repository: an exclusive `flock` on `REPO/lock`, whose
/// content names the holder. The kernel releases the flock when the holder dies, even by
/// SIGKILL, so a lock left by a killed process never blocks; its stale content is reported.
final class DiskLock: StorageLock {
    private var fd: Int32
    let staleHolder: RepositoryLock.Holder?

    init(path: String, holder: RepositoryLock.Holder, location: String) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LifeboatError.system("cannot open lock file", path: path) }
        fchmod(fd, 0o600)  // lock files made by older builds were 0644
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            var current: RepositoryLock.Holder?
            for _ in 0..<20 {  // the holder writes its name right after taking the lock
                current = DiskLock.readHolder(fd)
                if current != nil { break }
                usleep(10_000)
            }
            Glibc.close(fd)
            guard code == EWOULDBLOCK else { throw LifeboatError.system("cannot lock", path: path, errno: code) }
            throw RepositoryLock.held(location: location, by: current)
        }
        staleHolder = DiskLock.readHolder(fd)
        let bytes = Array((try? JSONEncoder().encode(holder)) ?? Data())
        ftruncate(fd, 0)
        _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    func release() {
        guard fd >= 0 else { return }
        ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        Glibc.close(fd)
        fd = -1
    }

    deinit { release() }

    static func readHolder(_ fd: Int32) -> RepositoryLock.Holder? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return try? JSONDecoder().decode(RepositoryLock.Holder.self, from: Data(buffer[0..<n]))
    }

    /// The live holder, or nil when nobody holds the lock (probed without taking it over).
    static func currentHolder(path: String) -> RepositoryLock.Holder? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        return readHolder(fd)
    }
}
