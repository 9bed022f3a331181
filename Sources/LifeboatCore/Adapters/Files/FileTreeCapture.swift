import Foundation

/// Walks a directory tree (without following symlinks below the root) in sorted order and writes
/// every object into the archive, directories before their content.
struct FileTreeCapture {
    let root: String
    let exclude: [String]
    let writer: ArchiveWriter
    let source: String
    private(set) var files = 0
    private(set) var directories = 0
    private(set) var symlinks = 0
    private(set) var warnings: [String] = []

    init(root: String, exclude: [String], writer: ArchiveWriter, source: String) {
        self.root = root
        self.exclude = exclude
        self.writer = writer
        self.source = source
    }

    mutating func run() throws {
        var st = stat()
        guard stat(root, &st) == 0 else {
            throw LifeboatError(.operationFailed, "source \"\(source)\": cannot read \(root): \(String(cString: strerror(errno)))",
                                fix: "check the `path:` of source \"\(source)\" in the policy")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw LifeboatError(.invalidInput, "source \"\(source)\": \(root) is not a directory",
                                fix: "point `path:` at a directory")
        }
        try writer.addDirectory(path: ".", mode: UInt32(st.st_mode), mtime: st.st_mtim, owner: owner(st))
        directories += 1
        try walk(relative: "")
    }

    private mutating func walk(relative: String) throws {
        let absolute = relative.isEmpty ? root : root + "/" + relative
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: absolute).sorted()
        } catch {
            throw LifeboatError(.operationFailed, "source \"\(source)\": cannot list \(absolute)", underlying: error)
        }
        for name in names {
            let rel = relative.isEmpty ? name : relative + "/" + name
            if excluded(rel, name: name) { continue }
            let full = root + "/" + rel
            var st = stat()
            guard lstat(full, &st) == 0 else {
                if errno == ENOENT { warnings.append("\(rel) vanished while the backup ran"); continue }
                throw LifeboatError.system("source \"\(source)\": cannot stat", path: full)
            }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                try writer.addDirectory(path: rel, mode: UInt32(st.st_mode), mtime: st.st_mtim, owner: owner(st))
                directories += 1
                try walk(relative: rel)
            case S_IFREG:
                try addFile(rel, full: full, st: st)
            case S_IFLNK:
                guard let target = readLink(full) else {
                    throw LifeboatError.system("source \"\(source)\": cannot read symlink", path: full)
                }
                try writer.addSymlink(path: rel, target: target, mode: UInt32(st.st_mode), mtime: st.st_mtim, owner: owner(st))
                symlinks += 1
            default:
                warnings.append("\(rel) is a special file (socket, FIFO or device) and was skipped")
            }
        }
    }

    private mutating func addFile(_ rel: String, full: String, st: stat) throws {
        let fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { warnings.append("\(rel) vanished while the backup ran"); return }
            throw LifeboatError.system("source \"\(source)\": cannot open", path: full)
        }
        defer { close(fd) }
        var now = stat()
        guard fstat(fd, &now) == 0 else { throw LifeboatError.system("cannot stat", path: full) }
        let (_, changed) = try writer.addFile(path: rel, mode: UInt32(now.st_mode), mtime: now.st_mtim,
                                              size: Int64(now.st_size), from: fd, sourcePath: full, owner: owner(now))
        if changed { warnings.append("\(rel) changed size while it was read; the stored copy may be inconsistent") }
        files += 1
    }

    private func excluded(_ rel: String, name: String) -> Bool {
        exclude.contains { fnmatch($0, rel, 0) == 0 || fnmatch($0, name, 0) == 0 }
    }

    private func owner(_ st: stat) -> Owner {
        Owner(uid: st.st_uid, gid: st.st_gid)
    }

    private func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n >= 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
