import Foundation

/// Physical capture: `pg_basebackup -D - -Ft --checkpoint=fast --manifest-checksums=SHA256`
/// with `-Xfetch` (default: the WAL from the backup's start to its end is in the backup, so it
/// restores on its own) or `-Xnone` (`wal_method: none`: that WAL comes from the archive; the
/// server waits for its archiver). `-Xstream` cannot write to stdout. The server's tar stream is
/// read as it arrives and each of its files becomes one entry (its SHA-256 computed as it is
/// stored); at the end the server's own backup manifest is checked against what was stored,
/// file by file. Point-in-time recovery past the backup needs the WAL archive, so WAL archiving
/// must be on (`archive_command = 'lifeboat wal push --repo REPO %p'`).
struct BaseBackup {
    let adapter: PostgresAdapter

    func capture(into writer: ArchiveWriter, context: CaptureContext) throws -> CaptureOutcome {
        let endpoint = adapter.endpoint
        let connection = try endpoint.connect(database: adapter.database)
        let major = connection.majorVersion
        let archiveMode = try connection.value("SHOW archive_mode") ?? "off"
        let archiveCommand = try connection.value("SHOW archive_command") ?? ""
        let systemIdentifier = try connection.value("SELECT system_identifier::text FROM pg_control_system()") ?? ""
        let fromStandby = try connection.value("SELECT pg_is_in_recovery()") == "t"
        if fromStandby {
            // A standby does not archive (unless archive_mode = always): its primary does, and
            // point-in-time recovery past this backup reads the primary's archive, which must
            // be this repository's.
            let archived = try context.repository.flatMap { try WALArchive(repository: $0).systemIdentifier() }
            guard archived == systemIdentifier else {
                throw LifeboatError(
                    .invalidInput,
                    "source \"\(adapter.name)\" is a standby of database system \(systemIdentifier), and this repository's WAL archive "
                        + (archived.map { "holds system \($0)" } ?? "holds no WAL yet")
                        + ": a backup from a standby needs its primary to archive into the same repository",
                    fix:
                        "set archive_command = 'lifeboat wal push --repo REPO %p' on the primary (and let it archive a segment), or back up the primary"
                )
            }
        } else {
            guard archiveMode != "off", !archiveCommand.isEmpty, archiveCommand != "(disabled)" else {
                throw LifeboatError(
                    .invalidInput, "source \"\(adapter.name)\": physical mode needs WAL archiving, and the server has archive_mode=\(archiveMode)",
                    fix: "set archive_mode = on and archive_command = 'lifeboat wal push --repo REPO %p' (restart the server), or use mode: logical")
            }
        }
        let pgBasebackup = try endpoint.tool("pg_basebackup", major: major)
        var metadata = try PostgresFacts.collect(connection)
        metadata.merge(endpoint.metadata) { $1 }
        metadata["mode"] = .string("physical")
        metadata["database"] = .string(adapter.database)
        metadata["pg_basebackup_version"] = .string(PostgresEndpoint.versionLine(of: pgBasebackup))
        metadata["system_identifier"] = .string(systemIdentifier)
        if fromStandby { metadata["from_standby"] = .bool(true) }
        let segmentSize = Int64(try connection.value("SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'") ?? "") ?? 16 << 20
        metadata["wal_segment_size"] = .int(segmentSize)
        metadata["cluster_size"] = .int(Int64(try connection.value("SELECT sum(pg_database_size(oid))::bigint FROM pg_database") ?? "0") ?? 0)
        if !fromStandby && archiveCommand.contains("lifeboat") == false {
            metadata["archive_command"] = .string(archiveCommand)
        }

        let child = try RunningChild(
            [
                pgBasebackup, "--pgdata=-", "--format=tar", "--wal-method=\(adapter.walMethod.rawValue)", "--checkpoint=fast",
                "--manifest-checksums=SHA256", "--label=lifeboat \(adapter.name)",
            ] + endpoint.connectionArguments,
            environment: try endpoint.childEnvironment())
        let stored: StoredTree
        do {
            stored = try store(from: child.output, into: writer)
        } catch {
            child.terminate()
            _ = try? child.wait()
            if !child.errorText.isEmpty { throw LifeboatError(.operationFailed, "pg_basebackup failed: \(child.errorText)") }
            throw error
        }
        try child.waitForSuccess()
        let finished = Date()
        let manifest = try BackupManifest(bytes: stored.backupManifest)
        try manifest.check(stored.files)
        guard let label = stored.backupLabel.flatMap({ BackupLabel(text: $0) }) else {
            throw LifeboatError(.operationFailed, "pg_basebackup's stream has no readable backup_label")
        }
        let stopSegment = try manifest.endSegment(segmentSize: segmentSize)
        metadata["timeline"] = .int(Int64(label.timeline))
        metadata["start_lsn"] = .string(label.startLSN)
        metadata["start_wal"] = .string(label.startSegment)
        metadata["stop_lsn"] = .string(manifest.endLSN)
        metadata["stop_wal"] = .string(stopSegment)
        metadata["files"] = .int(Int64(stored.files.count))
        metadata["wal_method"] = .string(adapter.walMethod.rawValue)

        var warnings: [String] = []
        if let repository = context.repository {
            let archive = WALArchive(repository: repository)
            if adapter.walMethod == .none {
                // The server waited for its archiver; the last segment should have reached us.
                let deadline = Date().addingTimeInterval(5)
                while (try? archive.stored(stopSegment)) == nil && Date() < deadline { usleep(100_000) }
                if (try? archive.stored(stopSegment)) == nil {
                    warnings.append(
                        "WAL segment \(stopSegment), which this base backup needs, is not in this repository's WAL archive; check archive_command (\(archiveCommand))"
                    )
                }
            } else if (try? archive.all())?.isEmpty ?? true {
                warnings.append(
                    "no WAL has reached this repository's archive yet: the base backup restores on its own, but recovery past it needs archive_command = 'lifeboat wal push --repo \(repository.location) %p'"
                )
            }
        }
        return CaptureOutcome(metadata: metadata, warnings: warnings, recoveryPoint: finished)
    }

    /// What was stored: each file's SHA-256 and size, and the small files read on the way.
    struct StoredTree {
        var files: [String: (sha256: String, size: Int64)] = [:]
        var backupManifest: [UInt8] = []
        var backupLabel: String?
    }

    private func store(from fd: Int32, into writer: ArchiveWriter) throws -> StoredTree {
        let reader = try TarStreamReader(fd: fd, producer: "pg_basebackup")
        var tree = StoredTree()
        while let header = try reader.next() {
            let mtime = timespec(tv_sec: Int(header.mtime), tv_nsec: Int(header.mtimeNanoseconds))
            let path = try SafePath(header.path).components.joined(separator: "/")
            switch header.kind {
            case .directory:
                try writer.addDirectory(path: path, mode: header.mode, mtime: mtime, owner: header.owner)
            case .symlink:
                try writer.addSymlink(path: path, target: header.target ?? "", mode: header.mode, mtime: mtime, owner: header.owner)
            case .file:
                let keep = path == "backup_manifest" || path == "backup_label"
                var kept: [UInt8] = []
                let record = try writer.addStream(path: path, size: header.size, mode: header.mode, mtime: mtime, owner: header.owner) { emit in
                    try reader.readData { bytes in
                        if keep { kept += bytes }
                        try emit(bytes)
                    }
                }
                if path == "backup_manifest" {
                    tree.backupManifest = kept
                } else {
                    if path == "backup_label" { tree.backupLabel = String(decoding: kept, as: UTF8.self) }
                    tree.files[path] = (record.sha256 ?? "", record.size)
                }
            case .hardlink, nil:
                throw LifeboatError(.operationFailed, "pg_basebackup sent \"\(header.path)\", which is neither a file, a directory nor a symlink")
            }
        }
        return tree
    }
}

/// The server's `backup_manifest` (JSON): every file with size and SHA-256, and the WAL range.
struct BackupManifest {
    struct File: Decodable {
        var path: String
        var size: Int64
        var checksum: String?
        enum CodingKeys: String, CodingKey {
            case path = "Path"
            case size = "Size"
            case checksum = "Checksum"
        }
    }
    struct WALRange: Decodable {
        var timeline: Int
        var startLSN: String
        var endLSN: String
        enum CodingKeys: String, CodingKey {
            case timeline = "Timeline"
            case startLSN = "Start-LSN"
            case endLSN = "End-LSN"
        }
    }
    struct Document: Decodable {
        var files: [File]
        var walRanges: [WALRange]
        enum CodingKeys: String, CodingKey {
            case files = "Files"
            case walRanges = "WAL-Ranges"
        }
    }

    let document: Document

    init(bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { throw LifeboatError(.operationFailed, "pg_basebackup's stream has no backup_manifest") }
        do {
            document = try JSONDecoder().decode(Document.self, from: Data(bytes))
        } catch {
            throw LifeboatError(.operationFailed, "cannot read pg_basebackup's backup_manifest", underlying: error)
        }
    }

    var endLSN: String { document.walRanges.last?.endLSN ?? "0/0" }

    /// Every file the server listed was stored with the size and SHA-256 it lists, and nothing else.
    func check(_ stored: [String: (sha256: String, size: Int64)]) throws {
        for file in document.files {
            guard let got = stored[file.path] else {
                throw LifeboatError(.operationFailed, "the server's backup manifest lists \(file.path), which its stream did not contain")
            }
            guard got.size == file.size, file.checksum == nil || file.checksum!.lowercased() == got.sha256 else {
                throw LifeboatError(
                    .operationFailed, "\(file.path) differs from the server's backup manifest (size \(got.size), expected \(file.size))")
            }
        }
        let listed = Set(document.files.map(\.path))
        // WAL fetched into the backup (-Xfetch) is covered by the manifest's WAL range, not its file list.
        if let extra = stored.keys.first(where: { !listed.contains($0) && !$0.hasPrefix("pg_wal/") }) {
            throw LifeboatError(.operationFailed, "the stream contained \(extra), which the server's backup manifest does not list")
        }
    }

    /// The WAL segment holding the backup's end LSN.
    func endSegment(segmentSize: Int64) throws -> String {
        guard let range = document.walRanges.last, let lsn = LSN(range.endLSN) else {
            throw LifeboatError(.operationFailed, "the server's backup manifest has no WAL range")
        }
        return lsn.segmentName(timeline: range.timeline, segmentSize: segmentSize)
    }
}

/// A WAL location, `X/Y` in hex.
struct LSN: Comparable {
    var value: UInt64
    init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let hi = UInt64(parts[0], radix: 16), let lo = UInt64(parts[1], radix: 16) else { return nil }
        value = hi << 32 | lo
    }
    static func < (a: LSN, b: LSN) -> Bool { a.value < b.value }

    func segmentName(timeline: Int, segmentSize: Int64) -> String {
        let segment = value / UInt64(segmentSize)
        let perId = 0x1_0000_0000 / UInt64(segmentSize)
        return String(format: "%08X%08X%08X", timeline, Int(segment / perId), Int(segment % perId))
    }
}

/// The `backup_label` a base backup carries: where its WAL starts.
struct BackupLabel {
    var startLSN: String
    var startSegment: String
    var timeline: Int

    /// Parses `START WAL LOCATION: 0/2000028 (file 000000010000000000000002)` and `START TIMELINE: 1`.
    init?(text: String) {
        var lsn: String?
        var segment: String?
        var timeline: Int?
        for line in text.split(separator: "\n") {
            if line.hasPrefix("START WAL LOCATION: ") {
                let rest = line.dropFirst("START WAL LOCATION: ".count)
                lsn = rest.split(separator: " ").first.map(String.init)
                if let open = rest.range(of: "(file "), let close = rest.lastIndex(of: ")") {
                    segment = String(rest[open.upperBound..<close])
                }
            } else if line.hasPrefix("START TIMELINE: ") {
                timeline = Int(line.dropFirst("START TIMELINE: ".count))
            }
        }
        guard let lsn, let segment, let timeline else { return nil }
        startLSN = lsn
        startSegment = segment
        self.timeline = timeline
    }
}
