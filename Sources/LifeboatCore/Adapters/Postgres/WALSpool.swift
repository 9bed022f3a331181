import Foundation

/// Asynchronous WAL archiving (`wal push --async`): archive_command only makes the segment
/// durable on the server's own disk and returns; a detached `wal pusher` uploads it.
///
/// The spool is a directory, `pg_wal/lifeboat-spool/` by default (inside pg_wal, so
/// pg_basebackup never copies it; the same filesystem as the segments):
/// - `NAME`: a WAL file archive_command handed over, complete and fsynced (written to
///   `.NAME.<pid>.tmp`, fsynced, renamed, the directory fsynced) before archive_command
///   returns 0. The pusher removes it once the repository holds it. With `--link` it is a hard
///   link to the server's own segment instead of a copy (see `accept`).
/// - `link-unsafe`: the pusher saw PostgreSQL recycle a linked segment (`wal_recycle = on`);
///   from then on archive_command copies even with `--link`, and says why, until it is removed.
/// - `NAME.pushed`: the pusher read ahead in `pg_wal/archive_status/*.ready` and already stored
///   `NAME` (inode, size and modification time of the file it read). archive_command for that
///   file then returns 0 without copying it; the marker is consumed.
/// - `pusher.lock` (an exclusive `flock`: one pusher per spool), `pusher.json` (its state).
///
/// archive_command returns 0 only when the file is in the spool or in the repository, so
/// PostgreSQL recycles nothing that is not durable somewhere. A spool over its limit makes
/// archive_command fail, loudly, and PostgreSQL keeps the segment and retries.
public struct WALSpool: Sendable {
    public static let folder = "lifeboat-spool"
    public static let defaultLimitMiB = 4096

    public let directory: String
    /// Bytes the spool may hold.
    public let limit: Int64

    public init(directory: String, limit: Int64 = Int64(defaultLimitMiB) << 20) {
        self.directory = FileIO.absolute(directory)
        self.limit = limit
    }

    /// The default spool of a server: beside the file archive_command is given (`%p` is
    /// `pg_wal/NAME`).
    public init(besideSegment path: String, limit: Int64 = Int64(defaultLimitMiB) << 20) {
        self.init(directory: (FileIO.absolute(path) as NSString).deletingLastPathComponent + "/" + Self.folder, limit: limit)
    }

    var lockPath: String { directory + "/pusher.lock" }
    var linkUnsafePath: String { directory + "/link-unsafe" }
    var statePath: String { directory + "/pusher.json" }

    /// What archive_command's hand-over did.
    public enum Acceptance: String, Sendable {
        /// The pusher had already stored it (read ahead): nothing was copied.
        case pushedAhead = "pushed-ahead"
        /// Copied into the spool and fsynced.
        case spooled
        /// Hard-linked into the spool (`--link`): nothing copied.
        case linked
    }

    /// archive_command's part: makes `path` durable in the spool, unless the pusher already
    /// stored exactly this file.
    ///
    /// `link`: hard-link the segment into the spool instead of copying it (16 MiB copied and
    /// fsynced on every segment otherwise, which is most of archive_command's time on ext4;
    /// XFS and btrfs share the blocks in `copy_file_range` anyway). Safe only when PostgreSQL
    /// never writes to an archived segment's file again, that is with `wal_recycle = off`:
    /// with recycling on, a checkpoint renames an archived segment to a future name and the
    /// server overwrites it, link and all. The pusher watches for that (`rescueRecycled`) and
    /// refuses to store a reused file (`WALArchive.Source.spooled`), but cannot win every race.
    /// Another filesystem than pg_wal's, or a recorded `link-unsafe`, copies instead.
    public func accept(path: String, link: Bool = false) throws -> (acceptance: Acceptance, name: String, bytes: Int64) {
        let name = (path as NSString).lastPathComponent
        guard WALArchive.isValidName(name) else {
            throw LifeboatError(
                .invalidInput, "\(name) is not a WAL file name", fix: "use archive_command = 'lifeboat wal push --async --repo REPO %p'")
        }
        let input = open(path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw LifeboatError.system("cannot open", path: path) }
        defer { close(input) }
        var st = stat()
        guard fstat(input, &st) == 0 else { throw LifeboatError.system("cannot stat", path: path) }
        let marker = directory + "/" + name + ".pushed"
        if let recorded = try? String(contentsOfFile: marker, encoding: .utf8), recorded == Self.identity(st) {
            unlink(marker)
            return (.pushedAhead, name, Int64(st.st_size))
        }
        if mkdir(directory, 0o700) != 0 && errno != EEXIST { try FileIO.makeDirectory(directory, mode: 0o700) }
        let queued = self.queued()
        let held = queued.filter { $0.name != name }.reduce(Int64(0)) { $0 + $1.bytes }
        guard held + Int64(st.st_size) <= limit else {
            var reason = "the pusher is not running"
            if let state = state() {
                if let failure = state.failure {
                    reason =
                        "the pusher has failed \(failure.attempts) time\(failure.attempts == 1 ? "" : "s") since \(Timestamp.rfc3339(failure.since)): \(failure.message)"
                } else if isPusherRunning() {
                    reason = "the pusher is running but not keeping up"
                }
            }
            throw LifeboatError(
                .operationFailed,
                "WAL spool \(directory) holds \(queued.count) file\(queued.count == 1 ? "" : "s") (\(ProgressLine.bytes(held))); \(name) would take it past its limit of \(ProgressLine.bytes(limit)), so it is not archived yet (PostgreSQL keeps it and retries); \(reason)",
                fix: "see `lifeboat wal status --spool \(directory)`; fix what stops the upload, or raise --spool-limit-mib")
        }
        if link, linkUnsafe() == nil, try linkDurably(input, from: path, to: directory + "/" + name) {
            return (.linked, name, Int64(st.st_size))
        }
        try copyDurably(input, size: Int64(st.st_size), from: path, to: directory + "/" + name)
        return (.spooled, name, Int64(st.st_size))
    }

    /// Hard-links `path` (open as `input`) as `destination` through a temporary name, after an
    /// fsync of the file (PostgreSQL fsynced a segment before marking it ready, so this finds
    /// nothing to write), and fsyncs the directory. False when the file cannot be linked here.
    private func linkDurably(_ input: Int32, from path: String, to destination: String) throws -> Bool {
        let temp = directory + "/." + (destination as NSString).lastPathComponent + ".\(getpid()).tmp"
        unlink(temp)
        guard Glibc.link(path, temp) == 0 else {
            if errno == EXDEV || errno == EPERM || errno == EMLINK || errno == ENOTSUP { return false }
            throw LifeboatError.system("cannot link \(path) as", path: temp)
        }
        do {
            try FileIO.sync(input, path: path)
            CrashPoint.reach("wal-spool-before-rename")
            var existing = stat()
            var linked = stat()
            if lstat(destination, &existing) == 0, fstat(input, &linked) == 0, existing.st_ino == linked.st_ino, existing.st_dev == linked.st_dev {
                unlink(temp)  // already this file (rename between two links of one file does nothing)
            } else {
                try FileIO.rename(temp, destination)
            }
        } catch {
            unlink(temp)
            throw error
        }
        try FileIO.syncDirectory(directory)
        return true
    }

    /// Why linking stopped, when the pusher saw PostgreSQL recycle a linked segment.
    public func linkUnsafe() -> String? {
        (try? String(contentsOfFile: linkUnsafePath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The pusher's watch over linked files: a spooled file with another link whose pg_wal name no
    /// longer is that file was renamed by PostgreSQL to a future segment name (recycled), and will
    /// be overwritten when the server reaches it. It is copied out now, while it is still the
    /// segment it was (first page checked), and `link-unsafe` is recorded so that archive_command
    /// copies from then on. Returns the files rescued.
    @discardableResult
    func rescueRecycled(pgWal: String) -> [String] {
        var rescued: [String] = []
        var seen: [String] = []
        for file in queued() {
            let path = directory + "/" + file.name
            var spooled = stat()
            var original = stat()
            guard lstat(path, &spooled) == 0, spooled.st_nlink > 1 else { continue }
            if lstat(pgWal + "/" + file.name, &original) == 0, original.st_ino == spooled.st_ino, original.st_dev == spooled.st_dev { continue }
            let input = open(path, O_RDONLY | O_CLOEXEC)
            guard input >= 0 else { continue }
            defer { close(input) }
            seen.append(file.name)
            do {
                try WALArchive.checkNotReused(input, name: file.name, path: path, read: nil)
                // Checked again once copied and before the copy replaces the link: PostgreSQL
                // writes a reused file from its first page on, so an unchanged first page means
                // nothing of it had changed while it was copied.
                try copyDurably(input, size: Int64(spooled.st_size), from: path, to: path) {
                    try WALArchive.checkNotReused(input, name: file.name, path: path, read: nil)
                }
                rescued.append(file.name)
            } catch {
                continue  // already reused: the push refuses it and says why
            }
        }
        if !seen.isEmpty && linkUnsafe() == nil {
            let note =
                "\(Timestamp.rfc3339(Date())): PostgreSQL recycled \(seen.joined(separator: ", ")) while the spool held \(seen.count == 1 ? "it" : "them") as a link (wal_recycle = on); \(rescued.count) of \(seen.count) copied out in time. archive_command copies from now on. Set wal_recycle = off before using --link again, then remove this file."
            Self.replace(linkUnsafePath, with: Data((note + "\n").utf8))
        }
        return rescued
    }

    /// Copies `size` bytes of `input` to `destination` in the kernel (`copy_file_range`: no
    /// buffer in this process), through a temporary name, fsync, `check`, rename and a directory
    /// fsync.
    private func copyDurably(
        _ input: Int32, size: Int64, from path: String, to destination: String, beforeRename check: () throws -> Void = {}
    ) throws {
        let temp = directory + "/." + (destination as NSString).lastPathComponent + ".\(getpid()).tmp"  // one hand-over per process
        let output = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw LifeboatError.system("cannot create", path: temp) }
        do {
            defer { close(output) }
            var copied: Int64 = 0
            while copied < size {
                let n = lifeboat_copy_file_range(input, nil, output, nil, Int(size - copied), 0)
                if n < 0 && errno == EINTR { continue }
                if n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP) {
                    // Another filesystem or an old kernel: through a buffer.
                    guard lseek(input, off_t(copied), SEEK_SET) >= 0, lseek(output, off_t(copied), SEEK_SET) >= 0 else {
                        throw LifeboatError.system("cannot seek", path: path)
                    }
                    copied += try FileIO.forEachChunk(input, path: path) { try FileIO.writeAll(output, $0, path: temp) }
                    break
                }
                guard n > 0 else {
                    if n == 0 { throw LifeboatError(.operationFailed, "\(path) changed while it was being spooled (shorter than \(size) bytes)") }
                    throw LifeboatError.system("cannot copy \(path) to", path: temp)
                }
                copied += Int64(n)
            }
            guard copied == size else { throw LifeboatError(.operationFailed, "\(path) changed while it was being spooled") }
            try FileIO.sync(output, path: temp)
            try check()
        } catch {
            unlink(temp)
            throw error
        }
        CrashPoint.reach("wal-spool-before-rename")
        do {
            try FileIO.rename(temp, destination)
        } catch {
            unlink(temp)
            throw error
        }
        try FileIO.syncDirectory(directory)
    }

    /// A file's identity as a pushed-ahead marker records it.
    static func identity(_ st: stat) -> String {
        "\(st.st_dev) \(st.st_ino) \(st.st_size) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)\n"
    }

    /// One file waiting in the spool.
    public struct QueuedFile: Sendable {
        public var name: String
        public var bytes: Int64
        /// When it was spooled.
        public var spooled: Date
    }

    /// The files waiting for the pusher, oldest name first.
    public func queued() -> [QueuedFile] {
        names().filter(WALArchive.isValidName).sorted().compactMap { name in
            var st = stat()
            guard stat(directory + "/" + name, &st) == 0 else { return nil }
            return QueuedFile(
                name: name, bytes: Int64(st.st_size),
                spooled: Date(timeIntervalSince1970: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9))
        }
    }

    /// Files the pusher stored ahead of archive_command.
    public func pushedAhead() -> [String] {
        names().filter { $0.hasSuffix(".pushed") }.map { String($0.dropLast(7)) }.sorted()
    }

    private func names() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    }

    /// Records that the pusher stored the file at `path` (read ahead, not spooled).
    func markPushedAhead(_ name: String, path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return }
        // Not fsynced: a lost marker only makes archive_command spool the file again.
        Self.replace(directory + "/" + name + ".pushed", with: Data(Self.identity(st).utf8))
    }

    /// Replaces a small file whole (temporary name, rename), without fsync: for what is only
    /// a shortcut (a marker) or a report (the pusher's state), never for WAL.
    private static func replace(_ path: String, with data: Data) {
        let temp = path + ".tmp"
        guard FileManager.default.createFile(atPath: temp, contents: data) else { return }
        if rename(temp, path) != 0 { unlink(temp) }
    }

    /// Removes what no one will read: markers of files PostgreSQL no longer wants archived
    /// (their `.ready` is gone), and temporary files of hand-overs killed over an hour ago.
    func sweep(pgWal: String?) {
        let now = Date().timeIntervalSince1970
        for name in names() {
            let path = directory + "/" + name
            if name.hasSuffix(".pushed"), let pgWal {
                if !FileIO.exists(pgWal + "/archive_status/" + name.dropLast(7) + ".ready") { unlink(path) }
            } else if name.hasPrefix("."), name.hasSuffix(".tmp") {
                var st = stat()
                if stat(path, &st) == 0, Double(st.st_mtim.tv_sec) < now - 3600 { unlink(path) }
            }
        }
    }

    /// Whether a pusher holds the spool's lock now.
    public func isPusherRunning() -> Bool {
        let fd = open(lockPath, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return false
        }
        return true
    }

    /// The pusher's last recorded failure, if it is failing: read without decoding dates unless
    /// there is one (archive_command asks this every time).
    public func failure() -> WALPusherState.Failure? {
        guard let data = FileManager.default.contents(atPath: statePath), data.range(of: Data("\"failure\"".utf8)) != nil else { return nil }
        return (try? WALPusherState.decoder.decode(WALPusherState.self, from: data))?.failure
    }

    /// The pusher's last recorded state, if any.
    public func state() -> WALPusherState? {
        guard let data = FileManager.default.contents(atPath: statePath) else { return nil }
        return try? WALPusherState.decoder.decode(WALPusherState.self, from: data)
    }

    func record(_ state: WALPusherState) {
        guard let data = try? WALPusherState.encoder.encode(state) else { return }
        Self.replace(statePath, with: data)
    }
}

/// glibc 2.27+: `copy_file_range(2)` (not in Swift's Glibc module).
@_silgen_name("copy_file_range")
func lifeboat_copy_file_range(
    _ fdIn: Int32, _ offIn: UnsafeMutablePointer<Int64>?, _ fdOut: Int32, _ offOut: UnsafeMutablePointer<Int64>?, _ length: Int, _ flags: UInt32
) -> Int
