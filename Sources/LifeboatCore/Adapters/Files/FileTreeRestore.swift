import Foundation

/// Restores a `files` component into a target directory without ever writing outside it.
///
/// Everything is extracted into a fresh staging directory beside the target, never through a
/// symlink (parents are checked with `lstat`, files are created `O_EXCL|O_NOFOLLOW`), and every
/// entry and the stored file are checked against the manifest. Only when all of it is proven is
/// the staging directory renamed into place. A non-empty target is refused unless `force`, and
/// then it is moved aside (`TARGET.lifeboat-previous-<time>`), never deleted.
///
/// A partial restore (`selected`: `--include`, `--exclude`) extracts only the selected entries,
/// still proving the whole component. Into an absent or empty target it is swapped in whole;
/// into an occupied one it is merged entry by entry: the rest of the target is left as it was, a
/// selected path that exists there is refused unless `force` (then that path alone is moved
/// aside), and nothing is written through a symlink or a file of the target.
struct FileTreeRestore {
    let target: String
    let force: Bool
    let progress: ProgressLine
    /// The entries a partial restore writes, by path bytes (nil: all).
    let selected: Set<[UInt8]>?

    init(target: String, force: Bool, progress: ProgressLine, selected: Set<[UInt8]>? = nil) {
        self.target = FileIO.absolute(target)
        self.force = force
        self.progress = progress
        self.selected = selected
    }

    func run(reader: ComponentReader) throws -> RestoreOutcome {
        let targetState = try inspectTarget()
        let merging = selected != nil && targetState == .occupied
        if merging { _ = try mergeConflicts(reader.component.entries) }
        let parent = (target as NSString).deletingLastPathComponent
        try FileIO.makeDirectory(parent)
        let staging = "\(parent)/.\((target as NSString).lastPathComponent).lifeboat-restore-\(Hex.random(bytes: 4))"
        guard mkdir(staging, 0o700) == 0 else { throw LifeboatError.system("cannot create staging directory", path: staging) }
        do {
            let (entries, bytes, unprivileged) = try extract(reader: reader, into: staging)
            var outcome: RestoreOutcome
            if merging {
                let moved = try merge(staging: staging, entries: reader.component.entries)
                outcome = RestoreOutcome(target: target, entries: entries, bytes: bytes, previousMovedTo: nil)
                outcome.checks += moved.map { "moved aside: \($0)" }
            } else {
                let moved = try swapIn(staging: staging, state: targetState, parent: parent)
                outcome = RestoreOutcome(target: target, entries: entries, bytes: bytes, previousMovedTo: moved)
            }
            if !unprivileged.isEmpty {
                outcome.checks.append(
                    "warning: setuid/setgid bits could not be restored on \(unprivileged.count) file\(unprivileged.count == 1 ? "" : "s") (not running as root): "
                        + unprivileged.prefix(5).joined(separator: ", "))
            }
            return outcome
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
    }

    enum TargetState { case absent, empty, occupied }

    /// What a restore into `target` finds there, refusing (as the restore itself would) a file,
    /// or a non-empty directory without `force`: `restore --dry-run` asks before it says yes.
    /// True when something would be moved aside.
    static func preflight(target: String, force: Bool, selected: Set<[UInt8]>? = nil, entries: [EntryRecord] = []) throws -> Bool {
        let restore = FileTreeRestore(target: target, force: force, progress: ProgressLine(enabled: false), selected: selected)
        let state = try restore.inspectTarget()
        guard state == .occupied else { return false }
        guard selected != nil else { return true }
        return try restore.mergeConflicts(entries) > 0
    }

    func inspectTarget() throws -> TargetState {
        var st = stat()
        guard lstat(target, &st) == 0 else { return .absent }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw LifeboatError(
                .invalidInput, "restore target \(target) exists and is not a directory",
                fix: "choose a directory path with --to")
        }
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: target)) ?? []
        if contents.isEmpty { return .empty }
        guard force || selected != nil else {
            throw LifeboatError(
                .invalidInput, "restore target \(target) is not empty (\(contents.count) entries)",
                fix: "restore into a new or empty directory, or add --force to move the current content aside")
        }
        return .occupied
    }

    private func extract(reader: ComponentReader, into staging: String) throws -> (Int, Int64, [String]) {
        let asRoot = geteuid() == 0
        var directories: [(path: [UInt8], record: EntryRecord)] = []
        var unprivileged: [String] = []
        var count = 0
        var bytes: Int64 = 0
        while let entry = try reader.next() {
            if let selected, !selected.contains(entry.record.name.bytes) { continue }  // read and proven all the same
            let destination = entry.path.bytes(under: staging)
            let shown = entry.path.under(staging)
            try ensureParents(of: entry.path, staging: staging, entry: entry.record.path)
            switch entry.record.kind {
            case .directory:
                if !entry.path.isRoot {
                    guard EntryName.withCString(destination, { mkdir($0, 0o700) }) == 0 else {
                        throw LifeboatError.system("cannot create directory", path: shown)
                    }
                }
                directories.append((destination, entry.record))
            case .symlink:
                let target = entry.record.targetName?.bytes ?? []
                let made = EntryName.withCString(target) { t in EntryName.withCString(destination) { symlink(t, $0) } }
                guard made == 0 else { throw LifeboatError.system("cannot create symlink", path: shown) }
            case .file:
                guard !entry.path.isRoot else { throw LifeboatError(.integrity, "a file entry names the target itself") }
                try Self.writeFile(destination, shown: shown, reader: reader, record: entry.record)
                bytes += entry.record.size
            case .hardlink:
                // ComponentReader proved the target an earlier file entry, so it is a file this
                // restore created in staging, reached through real directories only.
                let target = try SafePath(entry.record.targetName ?? EntryName(bytes: [])).bytes(under: staging)
                let made = EntryName.withCString(target) { t in EntryName.withCString(destination) { linkat(AT_FDCWD, t, AT_FDCWD, $0, 0) } }
                guard made == 0 else { throw LifeboatError.system("cannot create hard link", path: shown) }
                count += 1
                continue  // the same inode as its target: owner, mode and time are already set
            }
            if asRoot { _ = EntryName.withCString(destination) { lchown($0, entry.header.owner.uid, entry.header.owner.gid) } }
            if entry.record.kind == .file, entry.record.mode & 0o6000 != 0 {
                // chown clears setuid/setgid: set the mode again, and say so if it did not stick.
                var st = stat()
                _ = EntryName.withCString(destination) {
                    chmod($0, mode_t(entry.record.mode))
                    return lstat($0, &st)
                }
                if UInt32(st.st_mode) & 0o6000 != entry.record.mode & 0o6000 { unprivileged.append(entry.record.path) }
            }
            if entry.record.kind != .directory { try Self.setTimes(destination, shown: shown, entry.record) }
            count += 1
            progress.update("restoring: \(count) entries, \(ProgressLine.bytes(bytes))")
        }
        for (path, record) in directories.reversed() {  // children before parents, so mtimes stick
            let shown = EntryName(bytes: path).text
            guard EntryName.withCString(path, { chmod($0, mode_t(record.mode)) }) == 0 else {
                throw LifeboatError.system("cannot chmod", path: shown)
            }
            try Self.setTimes(path, shown: shown, record)
        }
        let fd = open(staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            lifeboat_syncfs(fd)
            close(fd)
        }
        progress.clear()
        return (count, bytes, unprivileged)
    }

    /// Creates the file at `path` (never through a symlink, never over an existing one) with the
    /// entry's data, holes kept, and its mode.
    static func writeFile(_ path: [UInt8], shown: String, reader: ComponentReader, record: EntryRecord) throws {
        let fd = EntryName.withCString(path) { open($0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) }
        guard fd >= 0 else { throw LifeboatError.system("cannot create", path: shown) }
        defer { close(fd) }
        if record.sparse == true {
            // Holes are skipped, not written: the file is as sparse as the one backed up.
            try reader.readData(
                { try FileIO.writeAll(fd, $0, path: shown) },
                hole: { length in
                    guard lseek(fd, off_t(length), SEEK_CUR) >= 0 else { throw LifeboatError.system("cannot seek in", path: shown) }
                })
            guard ftruncate(fd, off_t(record.size)) == 0 else { throw LifeboatError.system("cannot set the size of", path: shown) }
        } else {
            try reader.readData { try FileIO.writeAll(fd, $0, path: shown) }
        }
        guard fchmod(fd, mode_t(record.mode)) == 0 else { throw LifeboatError.system("cannot chmod", path: shown) }
        // Start writing it back now, without waiting: the final syncfs then waits for little,
        // and the disk works while the next files are read.
        if record.size >= Self.writebackHint { lifeboat_sync_file_range(fd, 0, 0, Self.syncFileRangeWrite) }
    }

    /// Files of this size or more are handed to writeback as soon as they are written.
    static let writebackHint: Int64 = 1 << 20
    /// SYNC_FILE_RANGE_WRITE: start writeback of the dirty pages, do not wait.
    static let syncFileRangeWrite: UInt32 = 2

    /// Every parent of `path` inside staging must be a real directory: never a symlink, so no
    /// entry can be written through one to a place outside the target.
    private func ensureParents(of path: SafePath, staging: String, entry: String) throws {
        var current = Array(staging.utf8)
        for component in path.componentBytes.dropLast() {
            current += [0x2f] + component
            var st = stat()
            if EntryName.withCString(current, { lstat($0, &st) }) != 0 {
                guard EntryName.withCString(current, { mkdir($0, 0o700) }) == 0 else {
                    throw LifeboatError.system("cannot create directory", path: EntryName(bytes: current).text)
                }
                continue
            }
            guard (st.st_mode & S_IFMT) == S_IFDIR else {
                throw LifeboatError(
                    .integrity,
                    "entry \"\(entry)\" would be written through the symlink or file \"\(EntryName(bytes: component))\" and could land outside the target; refused"
                )
            }
        }
    }

    static func setTimes(_ path: [UInt8], shown: String, _ record: EntryRecord) throws {
        let time = timespec(tv_sec: Int(record.mtime), tv_nsec: Int(record.mtimeNanoseconds))
        var times = [time, time]
        guard EntryName.withCString(path, { utimensat(AT_FDCWD, $0, &times, AT_SYMLINK_NOFOLLOW) }) == 0 else {
            throw LifeboatError.system("cannot set the time of", path: shown)
        }
    }

    /// The selected entries that exist in the occupied target and would be replaced (moved
    /// aside): refused unless `force`. A target path whose parent is a symlink or a file is
    /// refused whatever `force` says: a partial restore never writes through one.
    func mergeConflicts(_ entries: [EntryRecord]) throws -> Int {
        guard let selected else { return 0 }
        var conflicts: [String] = []
        for entry in entries where selected.contains(entry.name.bytes) && !EntrySelection.isRoot(entry.name.bytes) {
            let path = try SafePath(entry.name)
            var current = Array(target.utf8)
            for component in path.componentBytes.dropLast() {
                current += [0x2f] + component
                var st = stat()
                guard EntryName.withCString(current, { lstat($0, &st) }) == 0 else { break }
                guard (st.st_mode & S_IFMT) == S_IFDIR else {
                    throw LifeboatError(
                        .invalidInput,
                        "\(EntryName(bytes: current).text) is not a directory in the target (a symlink or a file): restoring \(entry.path) would write through it",
                        fix: "move it aside first, or restore into a new directory")
                }
            }
            var st = stat()
            guard EntryName.withCString(path.bytes(under: target), { lstat($0, &st) }) == 0 else { continue }
            if entry.kind == .directory && (st.st_mode & S_IFMT) == S_IFDIR { continue }  // kept, filled in
            conflicts.append(entry.path)
        }
        if !conflicts.isEmpty && !force {
            throw LifeboatError(
                .invalidInput,
                "\(conflicts.count) of the selected entries exist in \(target): " + conflicts.prefix(5).joined(separator: ", ")
                    + (conflicts.count > 5 ? ", …" : ""),
                fix: "add --force to move those aside (nothing else in the target changes), or restore into a new directory")
        }
        return conflicts.count
    }

    /// Moves the extracted entries from staging into the occupied target one by one, in stream
    /// order (parents first); existing directories are kept, a replaced path is moved aside.
    /// Returns where replaced paths went.
    private func merge(staging: String, entries: [EntryRecord]) throws -> [String] {
        guard let selected else { return [] }
        var moved: [String] = []
        var created: [(path: [UInt8], record: EntryRecord)] = []
        for entry in entries where selected.contains(entry.name.bytes) && !EntrySelection.isRoot(entry.name.bytes) {
            let path = try SafePath(entry.name)
            let source = path.bytes(under: staging)
            let destination = path.bytes(under: target)
            let shown = path.under(target)
            var st = stat()
            let exists = EntryName.withCString(destination, { lstat($0, &st) }) == 0
            if entry.kind == .directory && exists && (st.st_mode & S_IFMT) == S_IFDIR { continue }
            if exists {
                let aside = destination + Array(".lifeboat-previous-\(Timestamp.compactNanoseconds())".utf8)
                let renamed = EntryName.withCString(destination) { d in EntryName.withCString(aside) { rename(d, $0) } }
                guard renamed == 0 else { throw LifeboatError.system("cannot move aside", path: shown) }
                moved.append(EntryName(bytes: aside).text)
            }
            if entry.kind == .directory {
                guard EntryName.withCString(destination, { mkdir($0, 0o700) }) == 0 else {
                    throw LifeboatError.system("cannot create directory", path: shown)
                }
                created.append((destination, entry))
            } else {
                let renamed = EntryName.withCString(source) { s in EntryName.withCString(destination) { rename(s, $0) } }
                guard renamed == 0 else { throw LifeboatError.system("cannot move into place", path: shown) }
            }
        }
        for (path, record) in created.reversed() {
            let shown = EntryName(bytes: path).text
            guard EntryName.withCString(path, { chmod($0, mode_t(record.mode)) }) == 0 else {
                throw LifeboatError.system("cannot chmod", path: shown)
            }
            try Self.setTimes(path, shown: shown, record)
        }
        try? FileManager.default.removeItem(atPath: staging)  // only directories are left in it
        try FileIO.syncDirectory(target)
        return moved
    }

    private func swapIn(staging: String, state: TargetState, parent: String) throws -> String? {
        var moved: String?
        if state == .occupied {
            let aside = FileIO.asideName(for: target)
            try FileIO.rename(target, aside)
            moved = aside
        }
        do {
            try FileIO.rename(staging, target)  // replaces an empty directory atomically
        } catch {
            if let moved { try? FileIO.rename(moved, target) }
            throw error
        }
        try FileIO.syncDirectory(parent)
        return moved
    }
}

/// `sync_file_range(2)`: Glibc declares it only under _GNU_SOURCE.
@_silgen_name("sync_file_range") @discardableResult
func lifeboat_sync_file_range(_ fd: Int32, _ offset: Int64, _ count: Int64, _ flags: UInt32) -> Int32

/// `syncfs(2)`: Glibc declares it only under _GNU_SOURCE, which Swift's Glibc module lacks.
@_silgen_name("syncfs") @discardableResult
func lifeboat_syncfs(_ fd: Int32) -> Int32
