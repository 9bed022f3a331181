import CArchive
import Foundation

/// Takes one snapshot: captures each source into its own stored file under `tmp/`, fsyncs,
/// moves the files to `data/<id>/`, and writes the manifest last (temp name, fsync, rename,
/// fsync of `snapshots/`). Until that rename the snapshot does not exist; a failure or a kill at
/// any moment leaves only garbage, which the next backup (under the lock) clears from `tmp/`.
public struct BackupRunner {
    public let repository: Repository
    public let progress: ProgressLine

    public init(repository: Repository, progress: ProgressLine) {
        self.repository = repository
        self.progress = progress
    }

    /// What `run` did besides the snapshot itself.
    public struct Result: Sendable {
        public var manifest: Manifest
        public var staleLock: RepositoryLock.Holder?
        public var clearedTemporaries: Int
    }

    /// Captures `sources` as one snapshot of `schedule`, compressed with `compression`.
    /// `lock`: the repository lock when the caller already holds it (`run`); taken otherwise.
    /// `started`: the snapshot's time (default now; `run --now` simulates a timeline with it).
    public func run(sources: [any SourceAdapter], schedule: String, compression: Compression,
                    policyPath: String?, command: String, lock held: RepositoryLock? = nil,
                    started: Date = Date()) async throws -> Result {
        let lock = try held ?? RepositoryLock(repository: repository, command: command)
        let cleared = clearTemporaries()
        let shift = started.timeIntervalSinceNow  // ≈ 0, unless a simulated clock (`run --now`) is in force
        let id = Hex.random(bytes: 8)
        let existing = repository.snapshotNames()
        var name = "\(schedule)-\(Timestamp.compact(started))"
        var suffix = 2
        while existing.contains(name) {
            name = "\(schedule)-\(Timestamp.compact(started))-\(suffix)"
            suffix += 1
        }
        var components: [Manifest.Component] = []
        var temporaries: [(temp: String, final: String)] = []
        var recoveryPoint = started
        do {
            for source in sources {
                let file = "data/\(id)/\(source.name).\(compression.fileExtension)"
                let temp = "\(repository.tempDirectory)/\(id)-\(source.name).partial"
                temporaries.append((temp, repository.root + "/" + file))
                let (component, point) = try await capture(source, to: temp, file: file, compression: compression, started: started)
                components.append(component)
                recoveryPoint = max(recoveryPoint, point.addingTimeInterval(shift))
            }
            CrashPoint.reach("after-capture")
            let dataDirectory = "\(repository.dataDirectory)/\(id)"
            guard mkdir(dataDirectory, 0o700) == 0 else { throw LifeboatError.system("cannot create", path: dataDirectory) }
            for (temp, final) in temporaries { try FileIO.rename(temp, final) }
            try FileIO.syncDirectory(dataDirectory)
            try FileIO.syncDirectory(repository.dataDirectory)
            try FileIO.syncDirectory(repository.tempDirectory)
            CrashPoint.reach("before-manifest")
            let manifest = Manifest(
                format: Manifest.currentFormat, id: id, name: name, schedule: schedule, policy: policyPath,
                host: ProcessInfo.processInfo.hostName, started: Timestamp.rfc3339(started, fractional: true),
                finished: Timestamp.rfc3339(Date().addingTimeInterval(shift), fractional: true),
                recoveryPoint: Timestamp.rfc3339(recoveryPoint, fractional: true),
                tools: BackupRunner.toolVersions, components: components, checksum: nil)
            try FileIO.writeAtomically(try manifest.sealedBytes(), to: "\(repository.snapshotsDirectory)/\(id).json")
            CrashPoint.reach("after-manifest")
            withExtendedLifetime(lock) {}
            progress.clear()
            return Result(manifest: manifest, staleLock: lock.staleHolder, clearedTemporaries: cleared)
        } catch {
            progress.clear()
            for (temp, final) in temporaries {
                unlink(temp)
                unlink(final)
            }
            rmdir("\(repository.dataDirectory)/\(id)")
            throw error
        }
    }

    private func capture(_ source: any SourceAdapter, to temp: String, file: String, compression: Compression,
                         started: Date) async throws -> (Manifest.Component, Date) {
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LifeboatError.system("cannot create", path: temp) }
        defer { close(fd) }
        let writer = try ArchiveWriter(fd: fd, path: temp, compression: compression)
        let name = source.name
        let line = progress
        writer.onProgress = { bytes in line.update("backing up \(name): \(ProgressLine.bytes(bytes)) read") }
        let sourceStarted = Date()
        let outcome = try await source.capture(into: writer, context: CaptureContext(started: sourceStarted, progress: progress,
                                                                                            scratchDirectory: repository.tempDirectory,
                                                                                            repository: repository))
        let stored = try writer.finish()
        try FileIO.sync(fd, path: temp)
        var metadata = outcome.metadata
        metadata["compression_setting"] = .string(compression.description)
        metadata["capture_seconds"] = .double((Date().timeIntervalSince(sourceStarted) * 1000).rounded() / 1000)
        let component = Manifest.Component(
            source: source.name, type: type(of: source).type, file: file, compression: compression.algorithm,
            bytes: stored.bytes, sha256: stored.sha256, contentBytes: writer.contentBytes, entries: writer.entries,
            metadata: metadata,
            warnings: outcome.warnings)
        return (component, outcome.recoveryPoint ?? sourceStarted)
    }

    /// Removes what interrupted runs left in `tmp/` and half-written manifests; safe because the
    /// caller holds the lock, so no other writer is using them.
    private func clearTemporaries() -> Int {
        var removed = 0
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: repository.tempDirectory)) ?? [] {
            if unlink("\(repository.tempDirectory)/\(name)") == 0 { removed += 1 }
        }
        for name in (try? fm.contentsOfDirectory(atPath: repository.snapshotsDirectory)) ?? [] where name.hasPrefix(".") && name.hasSuffix(".tmp") {
            if unlink("\(repository.snapshotsDirectory)/\(name)") == 0 { removed += 1 }
        }
        return removed
    }

    /// Lifeboat's version and the libraries that shape the stored format.
    public static let toolVersions: [String: String] = [
        "lifeboat": LifeboatVersion.current,
        "libarchive": String(cString: archive_version_details()),
    ]
}

/// This build's version.
public enum LifeboatVersion {
    public static let current = "0.1.0"
}
