import Foundation

/// Walks a directory tree (without following symlinks below the root) in sorted order and writes
/// every object into the archive, directories before their content. Names are bytes from
/// `readdir` to `openat` (never converted to strings, so names that are not UTF-8 are kept), and
/// every directory is opened relative to its parent, so paths of any length are walked.
struct FileTreeCapture {
    let root: String
    let exclude: [String]
    let writer: ArchiveWriter
    let source: String
    private(set) var files = 0
    private(set) var directories = 0
    private(set) var symlinks = 0
    private(set) var hardlinks = 0
    /// The first name stored for each multiply-linked inode, so its other names become hard links.
    private var linked: [FileIdentity: EntryName] = [:]
    private(set) var warnings: [String] = []
    private var vanished: [String] = []
    private var special: [String] = []

    init(root: String, exclude: [String], writer: ArchiveWriter, source: String) {
        self.root = root
        self.exclude = exclude
        self.writer = writer
        self.source = source
    }

    mutating func run() throws {
        var st = stat()
        guard stat(root, &st) == 0 else {
            let code = errno
            throw LifeboatError(
                code == ENOENT || code == ENOTDIR ? .invalidInput : .operationFailed,
                "source \"\(source)\": cannot read \(root): \(String(cString: strerror(code)))",
                fix: "check the `path:` of source \"\(source)\" in the policy")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw LifeboatError(
                .invalidInput, "source \"\(source)\": \(root) is not a directory",
                fix: "point `path:` at a directory")
        }
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw LifeboatError.system("source \"\(source)\": cannot open", path: root) }
        defer { close(fd) }
        try writer.addDirectory(path: ".", mode: UInt32(st.st_mode), mtime: st.st_mtim, owner: owner(st))
        directories += 1
        try walk(fd, relative: EntryName(bytes: []))
        warnings += Self.summarise(vanished, what: "vanished while the backup ran")
        warnings += Self.summarise(special, what: "is a special file (socket, FIFO or device) and was skipped")
    }

    /// One warning per name, or one line with the count and the first few when there are many.
    static func summarise(_ names: [String], what: String) -> [String] {
        guard names.count > 10 else { return names.map { "\($0) \(what)" } }
        return ["\(names.count) entries: each \(what) (first: \(names.prefix(5).joined(separator: ", ")), …)"]
    }

    private mutating func walk(_ dirfd: Int32, relative: EntryName) throws {
        let names = try Self.list(dirfd, path: display(relative))
        for name in names {
            let rel = relative.appending(name)
            if excluded(rel, name: name) { continue }
            var st = stat()
            let found = EntryName.withCString(name) { fstatat(dirfd, $0, &st, AT_SYMLINK_NOFOLLOW) }
            guard found == 0 else {
                if errno == ENOENT {
                    vanished.append(rel.text)
                    continue
                }
                throw LifeboatError.system("source \"\(source)\": cannot stat", path: display(rel))
            }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                let child = EntryName.withCString(name) { openat(dirfd, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
                guard child >= 0 else {
                    if errno == ENOENT {
                        vanished.append(rel.text)
                        continue
                    }
                    throw LifeboatError.system("source \"\(source)\": cannot open directory", path: display(rel))
                }
                defer { close(child) }
                try writer.addDirectory(name: rel, mode: UInt32(st.st_mode), mtime: st.st_mtim, owner: owner(st))
                directories += 1
                try walk(child, relative: rel)
            case S_IFREG:
                try addFile(rel, name: name, in: dirfd)
            case S_IFLNK:
                guard let target = Self.readLink(dirfd, name) else {
                    if errno == ENOENT {
                        vanished.append(rel.text)
                        continue
                    }
                    throw LifeboatError.system("source \"\(source)\": cannot read symlink", path: display(rel))
                }
                try writer.addSymlink(name: rel, target: EntryName(bytes: target), mode: UInt32(st.st_mode), mtime: st.st_mtim, owner: owner(st))
                symlinks += 1
            default:
                special.append(rel.text)
            }
        }
    }

    private mutating func addFile(_ rel: EntryName, name: [UInt8], in dirfd: Int32) throws {
        let fd = EntryName.withCString(name) { openat(dirfd, $0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0 else {
            if errno == ENOENT {
                vanished.append(rel.text)
                return
            }
            throw LifeboatError.system("source \"\(source)\": cannot open", path: display(rel))
        }
        defer { close(fd) }
        var now = stat()
        guard fstat(fd, &now) == 0 else { throw LifeboatError.system("cannot stat", path: display(rel)) }
        let identity = FileIdentity(device: UInt64(now.st_dev), inode: UInt64(now.st_ino))
        if now.st_nlink > 1 {
            if let first = linked[identity] {
                try writer.addHardlink(name: rel, target: first, mode: UInt32(now.st_mode), mtime: now.st_mtim, owner: owner(now))
                hardlinks += 1
                return
            }
            linked[identity] = rel
        }
        // Format 2: a file the previous snapshot holds with the same size, mtime, ctime and inode
        // is not read again (its chunks are reused).
        if try writer.addUnchangedFile(
            name: rel, mode: UInt32(now.st_mode), mtime: now.st_mtim, ctime: now.st_ctim,
            inode: UInt64(now.st_ino), size: Int64(now.st_size), owner: owner(now))
        {
            files += 1
            return
        }
        let (_, changed) = try writer.addFile(
            name: rel, mode: UInt32(now.st_mode), mtime: now.st_mtim,
            size: Int64(now.st_size), from: fd, sourcePath: display(rel), owner: owner(now),
            ctime: now.st_ctim, inode: UInt64(now.st_ino))
        if changed { warnings.append("\(rel.text) changed size while it was read; the stored copy may be inconsistent") }
        files += 1
    }

    /// The entries of an open directory, as bytes, sorted bytewise (without `.` and `..`).
    static func list(_ dirfd: Int32, path: String) throws -> [[UInt8]] {
        let copy = dup(dirfd)
        guard copy >= 0, let dir = fdopendir(copy) else {
            throw LifeboatError.system("cannot list", path: path)
        }
        defer { closedir(dir) }
        rewinddir(dir)
        var names: [[UInt8]] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw LifeboatError.system("cannot list", path: path) }
                break
            }
            let name = withUnsafePointer(to: &entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: UInt8.self, capacity: 256) {
                    Array(UnsafeBufferPointer(start: $0, count: strlen(UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))))
                }
            }
            if name == [0x2e] || name == [0x2e, 0x2e] { continue }
            names.append(name)
        }
        return names.sorted { $0.lexicographicallyPrecedes($1) }
    }

    private func excluded(_ rel: EntryName, name: [UInt8]) -> Bool {
        exclude.contains { EntryPattern($0).matches(rel.bytes) }
    }

    /// The full path for messages.
    private func display(_ rel: EntryName) -> String {
        rel.bytes.isEmpty ? root : root + "/" + rel.text
    }

    private func owner(_ st: stat) -> Owner {
        Owner(uid: st.st_uid, gid: st.st_gid)
    }

    private struct FileIdentity: Hashable {
        let device: UInt64
        let inode: UInt64
    }

    private static func readLink(_ dirfd: Int32, _ name: [UInt8]) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = EntryName.withCString(name) { path in
            buffer.withUnsafeMutableBytes { readlinkat(dirfd, path, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count - 1) }
        }
        guard n >= 0 else { return nil }
        return Array(buffer[0..<n])
    }
}
