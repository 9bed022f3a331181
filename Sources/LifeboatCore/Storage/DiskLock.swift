import Foundation

/// The lock of a directory repository: a `flock` on `REPO/lock`, shared or exclusive, and one
/// record per holder, `REPO/locks/<random>.json`, which its holder keeps `flock`ed for as long as
/// it holds the lock. The kernel drops both when a holder dies, even by SIGKILL, so a dead
/// holder never blocks; its record is then found unlocked, reported as stale and removed. A
/// record is made under a hidden name, locked, then renamed into place, so a record that can be
/// locked by someone else is always a dead holder's. An exclusive holder also writes its record
/// into `REPO/lock` itself, as builds with one mode did (and read).
final class DiskLock: StorageLock {
    private var fd: Int32
    private var recordFd: Int32 = -1
    private let recordPath: String
    let staleHolder: RepositoryLock.Holder?
    let alone: Bool
    private let mode: RepositoryLock.Mode

    init(root: String, holder: RepositoryLock.Holder, mode: RepositoryLock.Mode, location: String) throws {
        self.mode = mode
        let path = root + "/lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LifeboatError.system("cannot open lock file", path: path) }
        fchmod(fd, 0o600)  // lock files made by older builds were 0644
        let records = root + "/locks"
        recordPath = records + "/\(Hex.random(bytes: 8)).json"
        // Exclusive first: it succeeds only when nobody else holds the lock (`alone`).
        let gotAlone = flock(fd, LOCK_EX | LOCK_NB) == 0
        var code: Int32 = gotAlone ? 0 : errno
        if mode == .shared && (gotAlone || code == EWOULDBLOCK) {
            // EX → SH (not atomic: a prune can get in between), or SH beside other holders.
            code = flock(fd, LOCK_SH | LOCK_NB) == 0 ? 0 : errno
        }
        guard code == 0 else {
            var current: [RepositoryLock.Holder] = []
            for _ in 0..<20 {  // a holder writes its record right after taking the lock
                current = DiskLock.liveHolders(root: root)
                if !current.isEmpty { break }
                usleep(10_000)
            }
            Glibc.close(fd)
            guard code == EWOULDBLOCK else { throw LifeboatError.system("cannot lock", path: path, errno: code) }
            throw RepositoryLock.held(location: location, by: current, wanted: mode)
        }
        alone = gotAlone
        var stale = gotAlone ? DiskLock.readHolder(fd) : nil  // an exclusive holder that died
        stale = DiskLock.removeDeadRecords(records) ?? stale
        staleHolder = stale
        var holder = holder
        holder.mode = mode
        let bytes = Array((try? JSONEncoder().encode(holder)) ?? Data())
        if mode == .exclusive {
            ftruncate(fd, 0)
            _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
        try writeRecord(bytes, in: records)
    }

    private func writeRecord(_ bytes: [UInt8], in records: String) throws {
        if !FileIO.exists(records) { mkdir(records, 0o700) }
        let hidden = records + "/.\(Hex.random(bytes: 8)).tmp"
        recordFd = open(hidden, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard recordFd >= 0 else { throw LifeboatError.system("cannot write the lock record", path: hidden) }
        flock(recordFd, LOCK_EX)
        _ = bytes.withUnsafeBytes { pwrite(recordFd, $0.baseAddress, $0.count, 0) }
        guard rename(hidden, recordPath) == 0 else { throw LifeboatError.system("cannot write the lock record", path: recordPath) }
    }

    /// On disk a held flock cannot be taken away.
    func confirm() throws {}

    func release() {
        guard fd >= 0 else { return }
        if recordFd >= 0 {
            unlink(recordPath)
            Glibc.close(recordFd)
            recordFd = -1
        }
        if mode == .exclusive { ftruncate(fd, 0) }  // only an exclusive holder wrote into it
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

    /// The records in `locks/`, each with whether its holder is alive (it keeps the record locked).
    private static func records(_ directory: String) -> [(path: String, holder: RepositoryLock.Holder?, live: Bool)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted().compactMap { name in
            let path = directory + "/" + name
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            defer { Glibc.close(fd) }
            let live = flock(fd, LOCK_SH | LOCK_NB) != 0
            if !live { flock(fd, LOCK_UN) }
            return (path, readHolder(fd), live)
        }
    }

    /// Removes the records of holders that died; returns one of them.
    private static func removeDeadRecords(_ directory: String) -> RepositoryLock.Holder? {
        var stale: RepositoryLock.Holder?
        for record in records(directory) where !record.live {
            stale = record.holder ?? stale
            unlink(record.path)
        }
        return stale
    }

    /// The live holders: their records, or, for a holder from a build without records, the
    /// content of the held lock file.
    static func liveHolders(root: String) -> [RepositoryLock.Holder] {
        let live = records(root + "/locks").filter(\.live).compactMap(\.holder)
        if !live.isEmpty { return live }
        let fd = open(root + "/lock", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { Glibc.close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {  // nobody holds it exclusively
            flock(fd, LOCK_UN)
            return []
        }
        return readHolder(fd).map { [$0] } ?? []
    }
}
