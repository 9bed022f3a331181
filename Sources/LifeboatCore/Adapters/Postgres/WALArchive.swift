import Foundation

/// The repository's PostgreSQL WAL archive, `wal/<timeline>/<file>-<sha256>.zst`, fed by
/// `lifeboat wal push` (archive_command) and read by `lifeboat wal fetch` (restore_command).
///
/// - A push stores the file compressed, named with the SHA-256 of its content, as one object
///   committed whole or not at all (disk: temporary name, fsync, rename, directory fsync; S3: one
///   PUT or a completed multipart upload). Pushing a file that is already archived with the same
///   content succeeds (a crash between archiving and PostgreSQL noting it makes it push again);
///   different content under the same name is refused and nothing is overwritten.
/// - Segments carry the cluster's system identifier; the archive remembers the first one
///   (`wal/system-identifier`) and refuses WAL of another cluster.
/// - No push takes the repository lock: PostgreSQL must never wait for a backup to archive.
public struct WALArchive: Sendable {
    public let repository: Repository

    public init(repository: Repository) {
        self.repository = repository
    }

    /// A WAL archive file name PostgreSQL produces: a segment (`000000010000000000000003`,
    /// also `.partial`), a timeline history (`00000002.history`), a backup history file.
    public static func isValidName(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        func hex(_ s: Substring, _ n: Int) -> Bool { s.count == n && s.allSatisfy { $0.isHexDigit && !$0.isLowercase } }
        switch parts.count {
        case 1: return hex(parts[0], 24)
        case 2: return (hex(parts[0], 24) && parts[1] == "partial") || (hex(parts[0], 8) && parts[1] == "history")
        case 3: return hex(parts[0], 24) && hex(parts[1], 8) && parts[2] == "backup"
        default: return false
        }
    }

    /// What a push did.
    public enum PushOutcome: String, Sendable {
        case stored
        case alreadyArchived = "already-archived"
    }

    /// A file pushed as `.readAhead` was renamed or removed while it was read: PostgreSQL
    /// recycles a segment (renames it to a future name and overwrites it) once it is archived.
    public struct SourceMoved: Error {}

    /// Where a pushed file comes from, which says what can change it while it is read.
    public enum Source: Sendable {
        /// archive_command's own file: PostgreSQL leaves it alone until the command returns.
        case archiveCommand
        /// `pg_wal/NAME` read ahead by the async pusher: it may be recycled under the read. It is
        /// read whole into memory and pushed only if its path still names the inode read, else
        /// `SourceMoved` is thrown (a rename comes before any overwrite, so content read before
        /// that check is the segment's).
        case readAhead
        /// A spooled file, which may be a hard link to the server's segment (`--link`): after the
        /// read, the file's first page must still name the segment (see `WALSegmentHeader`),
        /// else it was recycled and reused under the link and nothing is stored.
        case spooled
    }

    /// Archives the file at `path` under its own name.
    public func push(path: String, source: Source = .archiveCommand) throws -> (outcome: PushOutcome, name: String, bytes: Int64, stored: Int64) {
        let name = (path as NSString).lastPathComponent
        guard Self.isValidName(name) else {
            throw LifeboatError(
                .invalidInput, "\(name) is not a WAL file name",
                fix: "use archive_command = 'lifeboat wal push --repo REPO %p'")
        }
        let input = open(path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw LifeboatError.system("cannot open", path: path) }
        defer { close(input) }
        if Self.isSegment(name) { try checkSystem(input, name: name, path: path) }
        var st = stat()
        guard fstat(input, &st) == 0 else { throw LifeboatError.system("cannot stat", path: path) }
        if st.st_size <= Self.inMemoryLimit {
            return try pushInMemory(input, name: name, path: path, size: Int(st.st_size), source: source, opened: st)
        }
        if source == .readAhead { throw SourceMoved() }
        let hasher = SHA256Hasher()
        let bytes = try FileIO.forEachChunk(input, path: path) { hasher.update($0) }
        let digest = hasher.finalize()
        if let existing = try archived(name, sha256: digest) { return (.alreadyArchived, name, bytes, existing.storedBytes) }
        guard lseek(input, 0, SEEK_SET) == 0 else { throw LifeboatError.system("cannot seek", path: path) }
        let output = try repository.writer("wal/\(Self.folder(of: name))/\(name)-\(digest).zst")
        do {
            let result = try RawStream.compress(from: input, inputPath: path, to: output)
            guard result.sha256 == digest, result.bytes == bytes else {
                throw LifeboatError(.operationFailed, "\(path) changed while it was being archived")
            }
            if source == .spooled { try Self.checkNotReused(input, name: name, path: path, read: nil) }
            CrashPoint.reach("wal-push-before-rename")
            _ = try output.commit()
            return (.stored, name, result.bytes, result.stored)
        } catch {
            output.abort()
            throw error
        }
    }

    /// The archived copy of `name` when it has this content; nil when there is none; refused
    /// when there is one with other content (nothing is ever overwritten).
    private func archived(_ name: String, sha256: String) throws -> StoredFile? {
        guard let existing = try stored(name) else { return nil }
        guard existing.sha256 == sha256 else {
            throw LifeboatError(
                .operationFailed,
                "WAL file \(name) is already archived with different content (archived sha256 \(existing.sha256.prefix(16))…, this one \(sha256.prefix(16))…); nothing was overwritten",
                fix: "two clusters may be archiving into one repository, or the server's WAL was reset; give each cluster its own repository")
        }
        return existing
    }

    /// Segments up to this size (the default is 16 MiB) are pushed from memory in one read.
    static let inMemoryLimit: Int64 = 64 << 20

    /// Archives a file read once into memory: its SHA-256 is computed on a second thread while
    /// this one compresses it, so archive_command pays one read and the longer of the two, not
    /// two reads and both (a segment is never changed while PostgreSQL archives it).
    private func pushInMemory(_ input: Int32, name: String, path: String, size: Int, source: Source, opened: stat) throws -> (
        outcome: PushOutcome, name: String, bytes: Int64, stored: Int64
    ) {
        var content = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let n = try content.withUnsafeMutableBytes {
                try FileIO.read(input, into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...]), at: Int64(filled), path: path)
            }
            guard n > 0 else { throw LifeboatError(.operationFailed, "\(path) changed while it was being archived (shorter than \(size) bytes)") }
            filled += n
        }
        switch source {
        case .archiveCommand: break
        case .readAhead:
            var now = stat()
            guard lstat(path, &now) == 0, now.st_ino == opened.st_ino, now.st_dev == opened.st_dev else { throw SourceMoved() }
        case .spooled:
            try Self.checkNotReused(input, name: name, path: path, read: content.prefix(WALSegmentHeader.size))
        }
        let bytes = content
        let digest = DigestThread(bytes)
        let compressed = try bytes.withUnsafeBytes { try ZstdBlob.compress($0, level: 3) }
        let sha256 = digest.wait()
        if let existing = try archived(name, sha256: sha256) { return (.alreadyArchived, name, Int64(size), existing.storedBytes) }
        let output = try repository.writer("wal/\(Self.folder(of: name))/\(name)-\(sha256).zst")
        do {
            try compressed.withUnsafeBytes { try output.write($0) }
            CrashPoint.reach("wal-push-before-rename")
            _ = try output.commit()
            return (.stored, name, Int64(size), Int64(compressed.count))
        } catch {
            output.abort()
            throw error
        }
    }

    /// Writes archived file `name` to `destination`, checked against its SHA-256. Throws
    /// `.notFound`-style `.operationFailed` when it is not archived (restore_command probes).
    public func fetch(name: String, to destination: String, durable: Bool = true) throws -> Int64 {
        guard Self.isValidName(name) else {
            throw LifeboatError(
                .invalidInput, "\(name) is not a WAL file name",
                fix: "use restore_command = 'lifeboat wal fetch --repo REPO %f %p'")
        }
        guard let file = try stored(name), let input = try repository.open(key: file.key) else { throw WALArchive.missing(name) }
        defer { input.close() }
        let fd = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LifeboatError.system("cannot create", path: destination) }
        do {
            defer { close(fd) }
            let result = try RawStream.decompress(input, path: "\(repository.location)/\(file.key)") {
                try FileIO.writeAll(fd, $0, path: destination)
            }
            guard result.sha256 == file.sha256 else {
                throw LifeboatError(
                    .integrity,
                    "archived WAL file \(name) is damaged: its content hashes to \(result.sha256.prefix(16))…, not \(file.sha256.prefix(16))…")
            }
            if durable { try FileIO.sync(fd, path: destination) }
            return result.bytes
        } catch {
            unlink(destination)
            throw error
        }
    }

    static func missing(_ name: String) -> LifeboatError {
        LifeboatError(.operationFailed, "WAL file \(name) is not in the archive")
    }

    /// One archived file.
    public struct StoredFile: Sendable {
        public var name: String
        /// The object's key in the repository.
        public var key: String
        public var sha256: String
        public var storedBytes: Int64
    }

    /// The archived copy of `name`, if any.
    public func stored(_ name: String) throws -> StoredFile? {
        try repository.storage.list("wal/\(Self.folder(of: name))/\(name)-").compactMap(Self.parse).first { $0.name == name }
    }

    /// Every archived file, sorted by name.
    public func all() throws -> [StoredFile] {
        try repository.storage.list("wal/").compactMap(Self.parse).sorted { $0.name < $1.name }
    }

    /// When the newest segment was archived (its object's time), or nil for an empty archive:
    /// a point-in-time restore reaches about this far, so its age is PostgreSQL's live RPO.
    public func newestArchiveTime() throws -> Date? {
        try repository.storage.list("wal/").filter { Self.parse($0).map { Self.isSegment($0.name) } ?? false }
            .compactMap(\.modified).max()
    }

    /// `wal/<tli>/<name>-<sha256>.zst` as a stored file; nil for any other key.
    static func parse(_ object: StoredObject) -> StoredFile? {
        let parts = object.key.split(separator: "/")
        guard parts.count == 3, parts[0] == "wal", parts[1].count == 8, parts[2].hasSuffix(".zst") else { return nil }
        let stem = parts[2].dropLast(4)
        guard stem.count > 65, stem.dropLast(64).hasSuffix("-") else { return nil }
        let name = String(stem.dropLast(65))
        guard isValidName(name), folder(of: name) == parts[1] else { return nil }
        return StoredFile(name: name, key: object.key, sha256: String(stem.suffix(64)), storedBytes: object.size)
    }

    /// Missing segments between the first and the last archived segment of each timeline, as
    /// `FIRST_MISSING … LAST_MISSING` (one entry per run of missing segments).
    public static func gaps(in names: [String], segmentSize: Int64) -> [String] {
        let perLog = UInt64(0x1_0000_0000) / UInt64(max(segmentSize, 1 << 20))
        var byTimeline: [String: [UInt64]] = [:]
        for name in names where name.count == 24 {
            guard let log = UInt64(name.dropFirst(8).prefix(8), radix: 16), let seg = UInt64(name.suffix(8), radix: 16) else { continue }
            byTimeline[String(name.prefix(8)), default: []].append(log * perLog + seg)
        }
        func segmentName(_ timeline: String, _ n: UInt64) -> String {
            timeline + String(format: "%08X%08X", Int(n / perLog), Int(n % perLog))
        }
        var gaps: [String] = []
        for (timeline, numbers) in byTimeline.sorted(by: { $0.key < $1.key }) {
            let sorted = numbers.sorted()
            for (a, b) in zip(sorted, sorted.dropFirst()) where b > a + 1 {
                let first = segmentName(timeline, a + 1)
                let last = segmentName(timeline, b - 1)
                gaps.append(first == last ? "\(first) is missing" : "\(first) … \(last) are missing")
            }
        }
        return gaps
    }

    /// `wal/<first 8 hex digits>`: the timeline.
    static func folder(of name: String) -> String { String(name.prefix(8)) }

    public static func isSegment(_ name: String) -> Bool {
        name.count == 24 || name.hasSuffix(".partial")
    }

    /// The log/segment position of a segment-like name (its hex digits 9–24), comparable across
    /// timelines; nil for history files.
    public static func position(of name: String) -> String? {
        guard name.count >= 24, !name.hasSuffix(".history") else { return nil }
        return String(name.dropFirst(8).prefix(16))
    }

    /// Refuses a spooled segment whose first page (as read, `read`, and as it is now, after the
    /// read) is not its own: PostgreSQL recycled the file and began a later segment in it, so
    /// what the spool holds is no longer `name`. Files without a header this reads pass.
    static func checkNotReused(_ fd: Int32, name: String, path: String, read: ArraySlice<UInt8>?) throws {
        guard name.count == 24 else { return }
        let now = WALSegmentHeader.read(fd)
        for header in [read.flatMap(WALSegmentHeader.init), now] {
            guard let header, let expected = WALSegmentHeader.address(of: name, segmentSize: header.segmentSize),
                header.pageAddress != expected
            else { continue }
            throw LifeboatError(
                .integrity,
                "spooled WAL file \(name) now holds segment \(header.segmentName(timeline: name)): PostgreSQL recycled it (wal_recycle = on) while the spool held it as a link (--link), and reused it; \(name) was not stored and is lost to the archive",
                fix:
                    "take a new base backup now, so that recovery never needs \(name); then set wal_recycle = off, or drop --link from archive_command, and remove \(path)"
            )
        }
    }

    /// Refuses a segment of a cluster other than the one this archive first received WAL from.
    private func checkSystem(_ fd: Int32, name: String, path: String) throws {
        guard let system = WALSegmentHeader.read(fd)?.system else { return }  // not a header we know: no check
        if let recorded = try systemIdentifier() {
            guard recorded == String(system) else {
                throw LifeboatError(
                    .invalidInput, "WAL file \(name) comes from database system \(system), but this repository archives system \(recorded)",
                    fix: "give each PostgreSQL cluster its own repository")
            }
            return
        }
        _ = try repository.storage.create("wal/system-identifier", Array("\(system)\n".utf8))
        if let recorded = try systemIdentifier(), recorded != String(system) {
            throw LifeboatError(
                .invalidInput, "WAL file \(name) comes from database system \(system), but this repository archives system \(recorded)",
                fix: "give each PostgreSQL cluster its own repository")
        }
    }

    /// The system identifier this archive holds WAL for, if any.
    public func systemIdentifier() throws -> String? {
        try repository.storage.get("wal/system-identifier").map {
            String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}

/// A SHA-256 computed on a thread of its own.
private final class DigestThread: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result = ""

    init(_ bytes: [UInt8]) {
        Thread.detachNewThread { [self] in
            result = SHA256Hasher.hex(of: bytes)
            done.signal()
        }
    }

    func wait() -> String {
        done.wait()
        return result
    }
}
