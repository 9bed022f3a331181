import Foundation

/// A repository in a local directory. Objects are files under `root`; a write goes to a
/// temporary file (in `tmp/`, or hidden beside its target), is fsynced, renamed into place and
/// its directory fsynced, so after a crash an object is whole or absent. `create` commits with
/// `link(2)`, which fails when the name exists: the no-overwrite manifest commit.
public struct DiskStorage: RepositoryStorage {
    public let root: String
    public var location: String { root }
    public var isLocal: Bool { true }

    public init(root: String) {
        self.root = FileIO.absolute(root)
    }

    func path(_ key: String) -> String { key.isEmpty ? root : root + "/" + key }

    /// The whole object, read into an array of exactly its size (a 16 MiB pack grown by
    /// appending would hold up to twice that, and copy it on the way).
    public func get(_ key: String) throws -> [UInt8]? {
        let target = path(key)
        let fd = open(target, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw LifeboatError.system("cannot open", path: target)
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw LifeboatError.system("cannot stat", path: target) }
        let size = Int(st.st_size)
        // Objects are immutable once committed: the size fstat gives is the object's.
        let bytes = try [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            while count < size {
                let n = try FileIO.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[count..<size]), at: Int64(count), path: target)
                if n == 0 { break }
                count += n
            }
        }
        return bytes
    }

    public func put(_ key: String, _ bytes: [UInt8]) throws {
        try makeParent(of: key)
        try FileIO.writeAtomically(bytes, to: path(key), mode: 0o600)
    }

    public func create(_ key: String, _ bytes: [UInt8]) throws -> Bool {
        try makeParent(of: key)
        let target = path(key)
        let dir = (target as NSString).deletingLastPathComponent
        let temp = "\(dir)/.\((target as NSString).lastPathComponent).\(Hex.random(bytes: 6)).tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LifeboatError.system("cannot create", path: temp) }
        defer { unlink(temp) }
        do {
            defer { close(fd) }
            try bytes.withUnsafeBytes { try FileIO.writeAll(fd, $0, path: temp) }
            try FileIO.sync(fd, path: temp)
        }
        CrashPoint.reach("atomic-write-before-rename")
        guard link(temp, target) == 0 else {
            if errno == EEXIST { return false }
            throw LifeboatError.system("cannot create", path: target)
        }
        try FileIO.syncDirectory(dir)
        return true
    }

    public func delete(_ key: String) throws {
        let target = path(key)
        guard unlink(target) == 0 || errno == ENOENT else { throw LifeboatError.system("cannot remove", path: target) }
        let parent = (key as NSString).deletingLastPathComponent
        // `data/<id>/` goes with its last file; top-level folders stay.
        if parent.contains("/"), rmdir(path(parent)) == 0 {
            try FileIO.syncDirectory((path(parent) as NSString).deletingLastPathComponent)
        } else {
            try? FileIO.syncDirectory(path(parent))
        }
    }

    public func list(_ prefix: String) throws -> [StoredObject] {
        let base =
            prefix.hasSuffix("/") || prefix.isEmpty
            ? String(prefix.dropLast(prefix.isEmpty ? 0 : 1))
            : (prefix as NSString).deletingLastPathComponent
        var found: [StoredObject] = []
        walk(base) { key, st in
            if key.hasPrefix(prefix) {
                found.append(
                    StoredObject(
                        key: key, size: Int64(st.st_size),
                        modified: Date(timeIntervalSince1970: TimeInterval(st.st_mtim.tv_sec))))
            }
        }
        return found.sorted { $0.key < $1.key }
    }

    /// Calls `body` for every committed file below `relative` (hidden temporaries and `tmp/`
    /// are not committed objects).
    private func walk(_ relative: String, _ body: (String, stat) -> Void) {
        let dir = path(relative)
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []) where !name.hasPrefix(".") {
            let key = relative.isEmpty ? name : relative + "/" + name
            if key == "tmp" || key == "lock" { continue }
            var st = stat()
            guard lstat(path(key), &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR: walk(key, body)
            case S_IFREG: body(key, st)
            default: continue
            }
        }
    }

    public func children(_ prefix: String) throws -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path(String(prefix.dropLast())))) ?? [])
            .filter { !$0.hasPrefix(".") }.sorted()
    }

    public func size(_ key: String) throws -> Int64? {
        var st = stat()
        guard lstat(path(key), &st) == 0 else { return nil }
        return Int64(st.st_size)
    }

    public func writer(_ key: String) throws -> any ObjectWriter {
        try makeParent(of: key)
        let target = path(key)
        let temp = "\((target as NSString).deletingLastPathComponent)/.\((target as NSString).lastPathComponent).\(Hex.random(bytes: 6)).tmp"
        return try DiskObjectWriter(temp: temp) { _ in target }
    }

    /// Streams into `tmp/` (an incomplete write until it commits), then renames into its key.
    public func contentNamedWriter(_ key: @escaping @Sendable (StoredDigest) -> String) throws -> any ObjectWriter {
        try makeParent(of: "tmp/x")
        return try DiskObjectWriter(temp: path("tmp/object-\(Hex.random(bytes: 8)).tmp")) { digest in
            let name = key(digest)
            try makeParent(of: name)
            return path(name)
        }
    }

    public func deletePrefix(_ prefix: String) throws {
        let target = path(String(prefix.dropLast()))
        guard FileIO.exists(target) else { return }
        do {
            try FileManager.default.removeItem(atPath: target)
        } catch {
            throw LifeboatError(.operationFailed, "cannot remove \(target)", underlying: error)
        }
        try FileIO.syncDirectory((target as NSString).deletingLastPathComponent)
    }

    public func reader(_ key: String) throws -> (any ObjectReader)? {
        let target = path(key)
        let fd = open(target, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw LifeboatError.system("cannot open", path: target)
        }
        return DiskObjectReader(fd: fd, path: target)
    }

    public func incompleteWrites() throws -> [IncompleteWrite] {
        var found: [IncompleteWrite] = []
        func consider(_ relative: String, all: Bool) {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: path(relative))) ?? [] where all || name.hasPrefix(".") {
                var st = stat()
                guard lstat(path(relative.isEmpty ? name : "\(relative)/\(name)"), &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
                let key = relative.isEmpty ? name : "\(relative)/\(name)"
                found.append(
                    IncompleteWrite(
                        name: key, key: key, bytes: Int64(st.st_size),
                        started: Date(timeIntervalSince1970: TimeInterval(st.st_mtim.tv_sec) + TimeInterval(st.st_mtim.tv_nsec) / 1e9)))
            }
        }
        consider("tmp", all: true)
        consider("", all: false)
        for folder in ["snapshots", "drills", "state", "wal", "index"] { consider(folder, all: false) }
        for shard in (try? children("packs/")) ?? [] { consider("packs/\(shard)", all: false) }
        for id in (try? children("data/")) ?? [] { consider("data/\(id)", all: false) }
        for timeline in (try? children("wal/")) ?? [] { consider("wal/\(timeline)", all: false) }
        return found.sorted { $0.name < $1.name }
    }

    public func removeIncompleteWrite(_ name: String) throws {
        guard unlink(path(name)) == 0 || errno == ENOENT else { throw LifeboatError.system("cannot remove", path: path(name)) }
    }

    public func acquireLock(_ holder: RepositoryLock.Holder, mode: RepositoryLock.Mode) throws -> any StorageLock {
        try DiskLock(root: path(""), holder: holder, mode: mode, location: location)
    }

    public func lockHolders() -> [RepositoryLock.Holder] {
        DiskLock.liveHolders(root: path(""))
    }

    /// Creates the directories above `key`, fsyncing each new one's parent.
    func makeParent(of key: String) throws {
        let parent = (key as NSString).deletingLastPathComponent
        guard !parent.isEmpty, !FileIO.exists(path(parent)) else { return }
        try makeParent(of: parent)
        guard mkdir(path(parent), 0o700) == 0 || errno == EEXIST else { throw LifeboatError.system("cannot create", path: path(parent)) }
        try FileIO.syncDirectory((path(parent) as NSString).deletingLastPathComponent)
    }
}

/// Writes to a temporary file; `commit` fsyncs it and renames it to its key (given, or named
/// by the digest of what was written).
final class DiskObjectWriter: ObjectWriter {
    private var fd: Int32
    private let temp: String
    private let target: (StoredDigest) throws -> String
    private let stored = StoredBytesDigest()

    init(temp: String, target: @escaping (StoredDigest) throws -> String) throws {
        fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LifeboatError.system("cannot create", path: temp) }
        self.temp = temp
        self.target = target
        OpenTemporaries.register(temp)
    }

    func write(_ chunk: UnsafeRawBufferPointer) throws {
        try FileIO.writeAll(fd, chunk, path: temp)
        stored.update(chunk)
    }

    func commit() throws -> StoredDigest {
        defer { abort() }
        try FileIO.sync(fd, path: temp)
        CrashPoint.reach("object-before-rename")
        let target = try target(stored.finish())
        try FileIO.rename(temp, target)
        OpenTemporaries.unregister(temp)
        try FileIO.syncDirectory((target as NSString).deletingLastPathComponent)
        return stored.finish()
    }

    func abort() {
        if fd >= 0 {
            close(fd)
            fd = -1
            unlink(temp)
            OpenTemporaries.unregister(temp)
        }
    }

    deinit { abort() }
}

final class DiskObjectReader: ObjectReader {
    private var fd: Int32
    private let path: String
    private let read = StoredBytesDigest()

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try FileIO.read(fd, into: buffer, path: path)
        if n > 0 { read.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) } else { _ = read.finish() }
        return n
    }

    var digest: StoredDigest { read.current }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    deinit { close() }
}
