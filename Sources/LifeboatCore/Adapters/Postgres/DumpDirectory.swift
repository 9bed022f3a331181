import Foundation

/// A logical dump in pg_dump's directory format (`jobs: N`): `pg_dump -Fd -j N -Z0` writes a
/// directory (`toc.dat`, one `NNNN.dat` per table, `blob_NNNN.dat` for large objects), stored as
/// entries `pg_dump.dir/NAME`, `toc.dat` first. pg_restore reads it only from a directory, and
/// with `-j N` only from one: every restore and deep verify writes the stored files into a
/// private scratch directory first, each proven by its SHA-256 as it is written, and runs
/// pg_restore on it once the whole stream is proven.
final class DumpDirectory {
    static let prefix = "pg_dump.dir/"

    /// The directory's file name an entry path holds, or nil when the entry is not one of its
    /// files (a name of pg_dump's: letters, digits, `.`, `_`, `-`; never a path).
    static func fileName(of path: String) -> String? {
        guard path.hasPrefix(prefix) else { return nil }
        let name = String(path.dropFirst(prefix.count))
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard !name.isEmpty, name != ".", name != "..", name.allSatisfy({ allowed.contains($0) }) else { return nil }
        return name
    }

    let path: String

    /// A new, empty, private directory under `parent` (removed with this object).
    init(in parent: String, label: String) throws {
        var template = Array("\(parent)/lifeboat-\(label)-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw LifeboatError.system("cannot create a scratch directory", path: parent)
        }
        path = String(cString: made)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes the current entry of `reader` (a file of the dump directory) as `name`, proven.
    func write(_ name: String, from reader: ComponentReader, progress: (Int) -> Void = { _ in }) throws {
        let file = "\(path)/\(name)"
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LifeboatError.system("cannot create", path: file) }
        defer { close(fd) }
        try reader.readData { bytes in
            try FileIO.writeAll(fd, bytes, path: file)
            progress(bytes.count)
        }
    }

    /// fsyncs every file and the directory itself.
    func syncFiles() throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: path) {
            let fd = open("\(path)/\(name)", O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw LifeboatError.system("cannot open", path: "\(path)/\(name)") }
            defer { close(fd) }
            try FileIO.sync(fd, path: "\(path)/\(name)")
        }
        try FileIO.syncDirectory(path)
    }

    /// Stores the files pg_dump wrote into `directory` as entries, `toc.dat` first; returns how
    /// many and their bytes.
    static func store(_ directory: String, into writer: ArchiveWriter, mtime: timespec) throws -> (files: Int, bytes: Int64) {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted { a, b in
            a == "toc.dat" ? b != "toc.dat" : (b == "toc.dat" ? false : a < b)
        }
        var bytes: Int64 = 0
        for name in names {
            guard fileName(of: prefix + name) != nil else {
                throw LifeboatError(.operationFailed, "pg_dump wrote \(directory)/\(name), a name a directory-format dump does not have")
            }
            let file = "\(directory)/\(name)"
            let fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw LifeboatError.system("cannot open", path: file) }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                throw LifeboatError(.operationFailed, "\(file) is not a regular file")
            }
            try writer.addFile(path: prefix + name, mode: 0o600, mtime: mtime, size: Int64(st.st_size), from: fd, sourcePath: file)
            bytes += Int64(st.st_size)
        }
        return (names.count, bytes)
    }
}
