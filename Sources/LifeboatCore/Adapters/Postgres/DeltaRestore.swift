import Foundation

/// `restore --delta --to-datadir D`: brings an existing data directory of the same database
/// system to a base backup by rewriting only what differs, as pgBackRest's `--delta` does, so
/// re-seeding a failed primary or a lagging standby reads the whole backup but writes little.
///
/// - D must hold a data directory whose `global/pg_control` names the system the backup was
///   taken from (`system_identifier`); another system's directory is refused before anything
///   changes, and so is one whose server is running (a live `postmaster.pid`).
/// - Each file of the backup is compared by size and SHA-256 (the manifest's) with the file in D:
///   equal files are kept (their mode and time set), others are written beside it and renamed
///   over it. In a format-2 repository the chunks of an unchanged file (its entry's `chunks`)
///   are not fetched (`ComponentReader.hold`); everything else is read and proven.
/// - What D holds and the backup does not is removed (WAL, `postmaster.pid`, dropped relations),
///   without following symlinks: a link is removed, never what it points to. Nothing is written
///   through a symlink or a file of D: a parent that is not a real directory is refused.
/// - Crash safety: `lifeboat-delta.incomplete` (holding the system identifier) is written first
///   and the backup's `pg_control` is put in place last, so an interrupted delta leaves a
///   directory PostgreSQL will not start and that a second `--delta` recognises and finishes.
struct DeltaRestore {
    static let marker = "lifeboat-delta.incomplete"
    static let pendingControl = "global/pg_control.lifeboat-delta"

    let datadir: String
    let systemIdentifier: String
    let progress: ProgressLine

    struct Counts {
        var kept = 0
        var rewritten = 0
        var removed = 0
        var bytesWritten: Int64 = 0
    }

    init(datadir: String, component: Manifest.Component, progress: ProgressLine) throws {
        self.datadir = FileIO.absolute(datadir)
        self.progress = progress
        guard let recorded = component.metadata["system_identifier"]?.stringValue, !recorded.isEmpty else {
            throw LifeboatError(
                .invalidInput,
                "snapshot of \(component.source) does not record its database system, so --delta cannot prove \(datadir) is the same one",
                fix: "restore into a new or empty directory without --delta")
        }
        systemIdentifier = recorded
    }

    /// Refuses a directory that is not a data directory of this system, or whose server runs.
    func preflight() throws {
        var st = stat()
        guard lstat(datadir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw LifeboatError(
                .invalidInput, "--delta needs an existing data directory; \(datadir) is not a directory",
                fix: "restore without --delta into a new directory")
        }
        let found = try Self.systemIdentifier(of: datadir)
        guard let found else {
            throw LifeboatError(
                .invalidInput, "\(datadir) holds no global/pg_control: it is not a PostgreSQL data directory, and --delta changes only those",
                fix: "restore without --delta into a new or empty directory")
        }
        guard found == systemIdentifier else {
            throw LifeboatError(
                .invalidInput,
                "\(datadir) belongs to database system \(found), the snapshot to system \(systemIdentifier); --delta never touches another system's directory",
                fix: "restore into a new or empty directory, or pick the snapshot of this cluster")
        }
        if let text = try? String(contentsOfFile: datadir + "/postmaster.pid", encoding: .utf8),
            let pid = text.split(separator: "\n").first.flatMap({ pid_t($0) }), pid > 0, kill(pid, 0) == 0 || errno == EPERM
        {
            throw LifeboatError(
                .invalidInput, "the server of \(datadir) is running (postmaster.pid: \(pid)); a delta restore rewrites its files",
                fix: "stop it first (pg_ctl -D \(datadir) stop -m fast)")
        }
    }

    /// The system identifier of the data directory at `path`: its `global/pg_control`, or the
    /// marker an interrupted delta restore left; nil when neither is there.
    static func systemIdentifier(of path: String) throws -> String? {
        if let marker = try? String(contentsOfFile: path + "/" + Self.marker, encoding: .utf8) {
            return marker.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let handle = FileHandle(forReadingAtPath: path + "/global/pg_control") else { return nil }
        defer { try? handle.close() }
        // ControlFileData starts with system_identifier, a uint64 in the machine's byte order.
        let head = [UInt8](handle.readData(ofLength: 8))
        guard head.count == 8 else { return nil }
        return String(head.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }

    func run(reader: ComponentReader) throws -> RestoreOutcome {
        try preflight()
        try FileIO.writeAtomically(Array("\(systemIdentifier)\n".utf8), to: datadir + "/" + Self.marker, mode: 0o600)
        unlink(datadir + "/global/pg_control")
        var counts = Counts()
        // The local files are compared on two threads (`LocalDigests`), ahead of the stream,
        // which is read, decompressed and proven on this one.
        let local = LocalDigests(datadir: datadir, entries: reader.component.entries, layout: reader.chunkLayout)
        defer { local.cancel() }
        // Format 2: the chunks of unchanged files are not fetched (their entries are passed over).
        let owners = ChunkOwners(reader.component.entries)
        _ = reader.hold { chunk in owners.file(of: chunk).map { local.unchanged($0) } ?? false }
        var wanted = Set<[UInt8]>()
        var directories: [(path: [UInt8], record: EntryRecord)] = []
        var entries = 0
        while let entry = try reader.next() {
            entries += 1
            var relative = entry.path.relativeBytes
            wanted.insert(relative)
            let same = entry.record.kind == .file && local.unchanged(relative)
            if relative == Array("global/pg_control".utf8) { relative = Array(Self.pendingControl.utf8) }
            let destination = Array(datadir.utf8) + (relative.isEmpty ? [] : [0x2f] + relative)
            let shown = EntryName(bytes: destination).text
            try ensureRealParents(relative)
            switch entry.record.kind {
            case .directory:
                if !relative.isEmpty {
                    if let kind = Self.kind(destination), kind != S_IFDIR { try Self.remove(destination, shown: shown) }
                    if Self.kind(destination) == nil {
                        guard EntryName.withCString(destination, { mkdir($0, 0o700) }) == 0 else {
                            throw LifeboatError.system("cannot create directory", path: shown)
                        }
                    }
                }
                directories.append((destination, entry.record))
            case .file:
                if same {
                    try reader.skipProvenData()  // proven by the file in place
                    counts.kept += 1
                    guard EntryName.withCString(destination, { chmod($0, mode_t(entry.record.mode)) }) == 0 else {
                        throw LifeboatError.system("cannot chmod", path: shown)
                    }
                } else {
                    try replaceFile(destination, shown: shown, reader: reader, record: entry.record)
                    counts.rewritten += 1
                    counts.bytesWritten += entry.record.size
                }
            case .symlink:
                let target = entry.record.targetName?.bytes ?? []
                let current = Self.kind(destination) == S_IFLNK ? Self.linkTarget(destination) : nil
                if current != target {
                    if Self.kind(destination) != nil { try Self.remove(destination, shown: shown) }
                    let made = EntryName.withCString(target) { t in EntryName.withCString(destination) { symlink(t, $0) } }
                    guard made == 0 else { throw LifeboatError.system("cannot create symlink", path: shown) }
                    counts.rewritten += 1
                } else {
                    counts.kept += 1
                }
            case .hardlink:
                let linked = try SafePath(entry.record.targetName ?? EntryName(bytes: [])).bytes(under: datadir)
                if Self.kind(destination) != nil { try Self.remove(destination, shown: shown) }
                let made = EntryName.withCString(linked) { t in EntryName.withCString(destination) { linkat(AT_FDCWD, t, AT_FDCWD, $0, 0) } }
                guard made == 0 else { throw LifeboatError.system("cannot create hard link", path: shown) }
                counts.rewritten += 1
                continue
            }
            if geteuid() == 0 { _ = EntryName.withCString(destination) { lchown($0, entry.header.owner.uid, entry.header.owner.gid) } }
            if entry.record.kind != .directory { try FileTreeRestore.setTimes(destination, shown: shown, entry.record) }
            progress.update("delta restore: \(entries) entries, \(counts.kept) unchanged, \(counts.rewritten) rewritten")
        }
        counts.removed = try removeUnwanted(wanted)
        for (path, record) in directories.reversed() {
            let shown = EntryName(bytes: path).text
            guard EntryName.withCString(path, { chmod($0, mode_t(record.mode)) }) == 0 else {
                throw LifeboatError.system("cannot chmod", path: shown)
            }
            try FileTreeRestore.setTimes(path, shown: shown, record)
        }
        let fd = open(datadir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            lifeboat_syncfs(fd)
            close(fd)
        }
        // The backup's pg_control last: until here PostgreSQL would not start this directory.
        try FileIO.rename(datadir + "/" + Self.pendingControl, datadir + "/global/pg_control")
        try FileIO.syncDirectory(datadir + "/global")
        unlink(datadir + "/" + Self.marker)
        try FileIO.syncDirectory(datadir)
        progress.clear()
        var outcome = RestoreOutcome(target: datadir, entries: entries, bytes: counts.bytesWritten, previousMovedTo: nil)
        outcome.checks.append(
            "delta: \(counts.kept) of \(counts.kept + counts.rewritten) entries unchanged (kept), \(counts.rewritten) rewritten (\(ProgressLine.bytes(counts.bytesWritten))), \(counts.removed) not in the backup removed; \(ProgressLine.bytes(reader.heldBytes)) of unchanged content not fetched"
        )
        return outcome
    }

    /// Writes the entry's data beside `path` and renames it over whatever is there.
    private func replaceFile(_ path: [UInt8], shown: String, reader: ComponentReader, record: EntryRecord) throws {
        let temporary = path + Array(".lifeboat-delta-\(Hex.random(bytes: 4))".utf8)
        do {
            try FileTreeRestore.writeFile(temporary, shown: shown, reader: reader, record: record)
        } catch {
            _ = EntryName.withCString(temporary) { unlink($0) }
            throw error
        }
        if Self.kind(path) == S_IFDIR { try Self.remove(path, shown: shown) }
        let renamed = EntryName.withCString(temporary) { t in EntryName.withCString(path) { rename(t, $0) } }
        guard renamed == 0 else { throw LifeboatError.system("cannot move into place", path: shown) }
    }

    /// Every parent of `relative` inside the data directory must be a real directory.
    private func ensureRealParents(_ relative: [UInt8]) throws {
        var current = Array(datadir.utf8)
        for component in relative.split(separator: 0x2f).dropLast() {
            current += [0x2f] + component
            guard let kind = Self.kind(current) else { continue }  // created by its own entry, earlier in the stream
            guard kind == S_IFDIR else {
                throw LifeboatError(
                    .invalidInput,
                    "\(EntryName(bytes: current).text) is a symlink or a file in the data directory; --delta never writes through one",
                    fix: "move it aside, or restore without --delta into a new directory")
            }
        }
    }

    /// Removes what the data directory holds and the backup does not, deepest first, never
    /// following a symlink; the marker and the pending pg_control stay until the end.
    private func removeUnwanted(_ wanted: Set<[UInt8]>) throws -> Int {
        var removed = 0
        let keep: Set<[UInt8]> = [Array(Self.marker.utf8), Array(Self.pendingControl.utf8)]
        func walk(_ relative: [UInt8]) throws {
            let absolute = Array(datadir.utf8) + (relative.isEmpty ? [] : [0x2f] + relative)
            guard let dir = EntryName.withCString(absolute, { opendir($0) }) else { return }
            var names: [[UInt8]] = []
            while let item = readdir(dir) {
                let name = withUnsafeBytes(of: item.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
                if name == [0x2e] || name == [0x2e, 0x2e] { continue }
                names.append(name)
            }
            closedir(dir)
            for name in names {
                let child = relative.isEmpty ? name : relative + [0x2f] + name
                let path = Array(datadir.utf8) + [0x2f] + child
                if keep.contains(child) { continue }
                if !wanted.contains(child) {
                    try Self.remove(path, shown: EntryName(bytes: path).text)
                    removed += 1
                } else if Self.kind(path) == S_IFDIR {
                    try walk(child)
                }
            }
        }
        try walk([])
        return removed
    }

    static func kind(_ path: [UInt8]) -> mode_t? {
        var st = stat()
        guard EntryName.withCString(path, { lstat($0, &st) }) == 0 else { return nil }
        return st.st_mode & S_IFMT
    }

    static func linkTarget(_ path: [UInt8]) -> [UInt8]? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = EntryName.withCString(path) { p in buffer.withUnsafeMutableBufferPointer { readlink(p, $0.baseAddress!, $0.count) } }
        return n >= 0 ? buffer[0..<n].map { UInt8(bitPattern: $0) } : nil
    }

    /// Removes a file, a symlink (not what it points to) or a directory tree.
    static func remove(_ path: [UInt8], shown: String) throws {
        if kind(path) == S_IFDIR {
            try FileManager.default.removeItem(atPath: shown)  // removes links inside, never follows them
        } else {
            guard EntryName.withCString(path, { unlink($0) }) == 0 || errno == ENOENT else {
                throw LifeboatError.system("cannot remove", path: shown)
            }
        }
    }
}
