import Foundation

/// Thin, checked wrappers over the POSIX calls the repository relies on for durability.
public enum FileIO {
    /// Writes every byte, retrying short writes and EINTR.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = Glibc.write(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw LifeboatError.system("cannot write", path: path)
            }
            p += n
            left -= n
        }
    }

    /// Reads up to `buffer.count` bytes, retrying EINTR; 0 means end of file.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64? = nil, path: String) throws -> Int {
        while true {
            let n = offset.map { pread(fd, buffer.baseAddress, buffer.count, off_t($0)) } ?? Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw LifeboatError.system("cannot read", path: path)
        }
    }

    /// Reads `fd` to its end in chunks of up to 1 MiB, handing each to `body`; returns the byte count.
    @discardableResult
    public static func forEachChunk(_ fd: Int32, path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Int64 {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var total: Int64 = 0
        while true {
            try Cancellation.process.check()
            let n = try buffer.withUnsafeMutableBytes { try read(fd, into: $0, path: path) }
            if n == 0 { return total }
            try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            total += Int64(n)
        }
    }

    /// `fsync` that reports its failure.
    public static func sync(_ fd: Int32, path: String) throws {
        guard fsync(fd) == 0 else { throw LifeboatError.system("cannot fsync", path: path) }
    }

    /// Fsyncs a directory so that a rename or create inside it is durable.
    public static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw LifeboatError.system("cannot open directory", path: path) }
        defer { close(fd) }
        try sync(fd, path: path)
    }

    /// Atomically replaces `to` with `from` (same filesystem).
    public static func rename(_ from: String, _ to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw LifeboatError.system("cannot rename \(from) to", path: to) }
    }

    /// Creates a directory and its parents; succeeds when it exists already. Only `path` itself
    /// gets `mode`: parents made on the way are 0755, so a private leaf (0700) does not lock
    /// others out of its siblings (a drill's scratch root holds targets owned by other users).
    public static func makeDirectory(_ path: String, mode: mode_t = 0o755) throws {
        do {
            let parent = (path as NSString).deletingLastPathComponent
            if !parent.isEmpty && parent != path && !exists(parent) {
                try FileManager.default.createDirectory(
                    atPath: parent, withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o755])
            }
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true,
                attributes: [.posixPermissions: Int(mode)])
        } catch {
            throw LifeboatError(.operationFailed, "cannot create directory \(path)", underlying: error)
        }
    }

    /// Writes a small file durably: temp name, fsync, rename, fsync of the directory.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        let parent = (path as NSString).deletingLastPathComponent
        let dir = parent.isEmpty ? "." : parent
        let temp = "\(dir)/.\((path as NSString).lastPathComponent).\(Hex.random(bytes: 6)).tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw LifeboatError.system("cannot create", path: temp) }
        do {
            defer { close(fd) }
            try bytes.withUnsafeBytes { try writeAll(fd, $0, path: temp) }
            try sync(fd, path: temp)
        } catch {
            unlink(temp)
            throw error
        }
        CrashPoint.reach("atomic-write-before-rename")
        do {
            try rename(temp, path)
        } catch {
            unlink(temp)
            throw error
        }
        try syncDirectory(dir)
    }

    /// `path` made absolute (relative to the current directory) and standardized.
    public static func absolute(_ path: String) -> String {
        ((path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path) as NSString).standardizingPath
    }

    /// Whether anything (file, directory, dangling symlink) is at `path`.
    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// A name beside `path` to move its current content to, `PATH.lifeboat-previous-<time>`
    /// with the time to the nanosecond, and never one that exists.
    public static func asideName(for path: String) -> String {
        while true {
            let candidate = "\(path).lifeboat-previous-\(Timestamp.compactNanoseconds())"
            if !exists(candidate) { return candidate }
        }
    }
}
