import Foundation

/// The repository's PostgreSQL WAL archive, `wal/<timeline>/<file>-<sha256>.zst`, fed by
/// `lifeboat wal push` (archive_command) and read by `lifeboat wal fetch` (restore_command).
///
/// - A push stores the file compressed, named with the SHA-256 of its content, through a
///   temporary name, fsync, rename and directory fsync, so a file is in the archive whole or
///   not at all. Pushing a file that is already archived with the same content succeeds (a
///   crash between archiving and PostgreSQL noting it makes it push again); different content
///   under the same name is refused and nothing is overwritten.
/// - Segments carry the cluster's system identifier; the archive remembers the first one
///   (`wal/system-identifier`) and refuses WAL of another cluster.
/// - No push takes the repository lock: PostgreSQL must never wait for a backup to archive.
public struct WALArchive: Sendable {
    public let repository: Repository
    public var directory: String { repository.root + "/wal" }

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

    /// Archives the file at `path` under its own name.
    public func push(path: String) throws -> (outcome: PushOutcome, name: String, bytes: Int64, stored: Int64) {
        let name = (path as NSString).lastPathComponent
        guard Self.isValidName(name) else {
            throw LifeboatError(.invalidInput, "\(name) is not a WAL file name",
                                fix: "use archive_command = 'lifeboat wal push --repo REPO %p'")
        }
        let input = open(path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw LifeboatError.system("cannot open", path: path) }
        defer { close(input) }
        if Self.isSegment(name) { try checkSystem(input, name: name, path: path) }
        let folder = "\(directory)/\(Self.folder(of: name))"
        if let existing = stored(name) {
            let hasher = SHA256Hasher()
            let bytes = try FileIO.forEachChunk(input, path: path) { hasher.update($0) }
            let digest = hasher.finalize()
            guard existing.sha256 == digest else {
                throw LifeboatError(.operationFailed, "WAL file \(name) is already archived with different content (archived sha256 \(existing.sha256.prefix(16))…, this one \(digest.prefix(16))…); nothing was overwritten",
                                    fix: "two clusters may be archiving into one repository, or the server's WAL was reset; give each cluster its own repository")
            }
            return (.alreadyArchived, name, bytes, existing.storedBytes)
        }
        try ensureDirectory(folder)
        let temp = "\(folder)/.\(name).\(Hex.random(bytes: 6)).tmp"
        let output = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw LifeboatError.system("cannot create", path: temp) }
        do {
            let result = try RawStream.compress(from: input, inputPath: path, to: output, outputPath: temp)
            try FileIO.sync(output, path: temp)
            close(output)
            CrashPoint.reach("wal-push-before-rename")
            try FileIO.rename(temp, "\(folder)/\(name)-\(result.sha256).zst")
            try FileIO.syncDirectory(folder)
            return (.stored, name, result.bytes, result.stored)
        } catch {
            close(output)
            unlink(temp)
            throw error
        }
    }

    /// Writes archived file `name` to `destination`, checked against its SHA-256. Throws
    /// `.notFound`-style `.operationFailed` when it is not archived (restore_command probes).
    public func fetch(name: String, to destination: String) throws -> Int64 {
        guard Self.isValidName(name) else {
            throw LifeboatError(.invalidInput, "\(name) is not a WAL file name",
                                fix: "use restore_command = 'lifeboat wal fetch --repo REPO %f %p'")
        }
        guard let file = stored(name) else { throw WALArchive.missing(name) }
        let fd = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LifeboatError.system("cannot create", path: destination) }
        do {
            defer { close(fd) }
            let result = try RawStream.decompress(path: file.path) { try FileIO.writeAll(fd, $0, path: destination) }
            guard result.sha256 == file.sha256 else {
                throw LifeboatError(.integrity, "archived WAL file \(name) is damaged: its content hashes to \(result.sha256.prefix(16))…, not \(file.sha256.prefix(16))…")
            }
            try FileIO.sync(fd, path: destination)
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
        public var path: String
        public var sha256: String
        public var storedBytes: Int64
    }

    /// The archived copy of `name`, if any.
    public func stored(_ name: String) -> StoredFile? {
        let folder = "\(directory)/\(Self.folder(of: name))"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        guard let file = names.first(where: { $0.hasPrefix(name + "-") && $0.hasSuffix(".zst") && $0.count == name.count + 1 + 64 + 4 }) else {
            return nil
        }
        return StoredFile(name: name, path: "\(folder)/\(file)", sha256: String(file.dropFirst(name.count + 1).prefix(64)),
                          storedBytes: Pruner.size(of: "\(folder)/\(file)"))
    }

    /// Every archived file, sorted by name.
    public func all() -> [StoredFile] {
        var files: [StoredFile] = []
        let fm = FileManager.default
        for folder in ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).sorted() where folder.count == 8 {
            for file in (try? fm.contentsOfDirectory(atPath: "\(directory)/\(folder)")) ?? [] where file.hasSuffix(".zst") && !file.hasPrefix(".") {
                let stem = file.dropLast(4)
                guard stem.count > 65 else { continue }
                let name = String(stem.dropLast(65))
                guard Self.isValidName(name) else { continue }
                files.append(StoredFile(name: name, path: "\(directory)/\(folder)/\(file)", sha256: String(stem.suffix(64)),
                                        storedBytes: Pruner.size(of: "\(directory)/\(folder)/\(file)")))
            }
        }
        return files.sorted { $0.name < $1.name }
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
                let first = segmentName(timeline, a + 1), last = segmentName(timeline, b - 1)
                gaps.append(first == last ? "\(first) is missing" : "\(first) … \(last) are missing")
            }
        }
        return gaps
    }

    /// `wal/<first 8 hex digits>`: the timeline.
    static func folder(of name: String) -> String { String(name.prefix(8)) }

    static func isSegment(_ name: String) -> Bool {
        name.count == 24 || name.hasSuffix(".partial")
    }

    /// The log/segment position of a segment-like name (its hex digits 9–24), comparable across
    /// timelines; nil for history files.
    public static func position(of name: String) -> String? {
        guard name.count >= 24, !name.hasSuffix(".history") else { return nil }
        return String(name.dropFirst(8).prefix(16))
    }

    private func ensureDirectory(_ folder: String) throws {
        if FileIO.exists(folder) { return }
        let existed = FileIO.exists(directory)
        try FileIO.makeDirectory(folder, mode: 0o700)
        try FileIO.syncDirectory(directory)
        if !existed { try FileIO.syncDirectory(repository.root) }
    }

    /// Refuses a segment of a cluster other than the one this archive first received WAL from.
    private func checkSystem(_ fd: Int32, name: String, path: String) throws {
        var header = [UInt8](repeating: 0, count: 40)
        let n = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 40, 0) }
        // XLogLongPageHeaderData: xlp_magic (2 bytes), …, xlp_sysid (8 bytes at offset 24).
        guard n == 40, header[1] == 0xD1 else { return }  // not a long page header we know: no check
        let system = header[24..<32].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let recordPath = "\(directory)/system-identifier"
        if let text = try? String(contentsOfFile: recordPath, encoding: .utf8) {
            let recorded = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard recorded == String(system) else {
                throw LifeboatError(.invalidInput, "WAL file \(name) comes from database system \(system), but this repository archives system \(recorded)",
                                    fix: "give each PostgreSQL cluster its own repository")
            }
            return
        }
        try FileIO.makeDirectory(directory, mode: 0o700)
        try FileIO.writeAtomically(Array("\(system)\n".utf8), to: recordPath, mode: 0o600)
    }

    /// The system identifier this archive holds WAL for, if any.
    public var systemIdentifier: String? {
        (try? String(contentsOfFile: "\(directory)/system-identifier", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
