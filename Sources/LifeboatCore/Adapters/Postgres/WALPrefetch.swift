import Foundation

/// `restore_command`'s look-ahead: recovery asks `lifeboat wal fetch` for one segment at a time,
/// each a process start, a repository read and a decompression while replay waits. A fetch also
/// starts, when fewer than half of `count` segments are queued ahead of the one asked for, a
/// detached `lifeboat wal prefetch` that downloads the next `count` segments of the archive (same
/// timeline, proven against their SHA-256 as any fetch) into `pg_wal/lifeboat-prefetch/`. The
/// next fetches find them there and only rename them into place, without opening the repository.
///
/// - At most `count` segments are queued (with 16 MiB segments, `count` × 16 MiB); one prefetcher
///   runs per queue, under an exclusive `flock` of `.lock`, so fetches never start a second one.
/// - A queued file is complete or absent: it is downloaded to `NAME.partial` and renamed. It is
///   not fsynced (recovery never needs it durable: a crash restarts recovery, which fetches
///   again), so a queue written before the machine last booted may hold files whose data never
///   reached the disk: the queue records the kernel's boot id, and one from another boot is
///   emptied, never read.
/// - Two segments are downloaded at a time (the one recovery will ask for next first).
/// - Segments behind the one asked for are dropped at each fetch; the queue directory is removed
///   when a restore that started the server sees recovery end. pg_basebackup and Lifeboat's own
///   backups never copy it (it is inside pg_wal).
public struct WALPrefetch: Sendable {
    public static let folder = "lifeboat-prefetch"
    public static let defaultCount = 8

    /// The queue directory.
    public let queue: String
    /// How many segments to keep queued ahead.
    public let count: Int

    /// The queue beside a restore_command destination (`%p` is `pg_wal/RECOVERYXLOG`).
    public init(destination: String, count: Int) {
        queue = (FileIO.absolute(destination) as NSString).deletingLastPathComponent + "/" + Self.folder
        self.count = count
    }

    public init(queue: String, count: Int) {
        self.queue = FileIO.absolute(queue)
        self.count = count
    }

    /// Moves `name` from the queue to `destination`; false when it is not queued (or the queue
    /// was filled before the last boot).
    public func take(_ name: String, to destination: String) -> Bool {
        guard fromThisBoot() else { return false }
        return rename(queue + "/" + name, destination) == 0
    }

    /// The kernel's boot id, which changes with every boot.
    static func bootId() -> String {
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)) ?? ""
    }

    private var bootFile: String { queue + "/.boot" }

    /// Whether the queue was filled since the machine last booted.
    func fromThisBoot() -> Bool {
        let recorded = (try? String(contentsOfFile: bootFile, encoding: .utf8)) ?? ""
        return !recorded.isEmpty && recorded == Self.bootId()
    }

    /// The segments queued, sorted.
    func queued() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: queue)) ?? []).filter { WALArchive.isValidName($0) && WALArchive.isSegment($0) }
            .sorted()
    }

    /// Removes the queued segments before `name`: recovery has passed them.
    public func dropPassed(before name: String) {
        for queuedName in queued() where queuedName < name { unlink(queue + "/" + queuedName) }
    }

    /// Whether a prefetcher should start after serving `name`: fewer than half of `count`
    /// segments are queued ahead of it.
    public func wantsMore(after name: String) -> Bool {
        guard count > 0, WALArchive.isSegment(name) else { return false }
        return queued().filter { $0 > name }.count * 2 < count
    }

    /// The prefetcher: under the queue's lock (held by another prefetcher: returns 0 at once),
    /// downloads the first `count` segments after `name` on its timeline that the archive holds
    /// and the queue lacks. Returns how many it downloaded.
    public func fill(from archive: WALArchive, after name: String) throws -> Int {
        try FileIO.makeDirectory(queue)
        let lock = open(queue + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw LifeboatError.system("cannot open", path: queue + "/.lock") }
        defer { close(lock) }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else { return 0 }
        if !fromThisBoot() {
            for queuedName in queued() { unlink(queue + "/" + queuedName) }  // data maybe never written
            try Data(Self.bootId().utf8).write(to: URL(fileURLWithPath: bootFile))
        }
        let timeline = name.prefix(8)
        let have = Set(queued())
        let wanted = try archive.all().map(\.name)
            .filter { $0.count == 24 && $0.hasPrefix(timeline) && $0 > name }
            .prefix(count).filter { !have.contains($0) }
        let queue = self.queue
        let outcomes = ParallelWork.map(wanted, width: 2) { segment -> Result<Void, Error> in
            let partial = queue + "/" + segment + ".partial"
            do {
                _ = try archive.fetch(name: segment, to: partial, durable: false)
                try FileIO.rename(partial, queue + "/" + segment)
                return .success(())
            } catch {
                unlink(partial)
                return .failure(error)
            }
        }
        for case .failure(let error) in outcomes { throw error }
        return wanted.count
    }

    /// Removes the queue (recovery has ended).
    public func remove() {
        try? FileManager.default.removeItem(atPath: queue)
    }
}
