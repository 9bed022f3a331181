import CArchive
import Foundation

/// Takes one snapshot: streams each source into its own stored object `data/<id>/<source>.<ext>`
/// (on disk: a temporary file, fsync, rename; on S3: a multipart upload completed at the end),
/// and writes the manifest last, create-only. Until the manifest exists the snapshot does not;
/// a failure removes what it stored, and a kill leaves only garbage that `prune` removes (and
/// the next backup clears temporaries, under the lock).
public struct BackupRunner {
    public let repository: Repository
    public let progress: ProgressLine
    /// Format 2: read every file even when the previous snapshot holds it unchanged.
    public var forceRead = false
    /// A name chosen by the operator (`backup --name pre-migration`) instead of
    /// `<schedule>-<time>`: unique in the repository, or the backup is refused before it starts.
    public var name: String?
    /// `backup --tag`, recorded in the manifest.
    public var tags: [String] = []
    /// The host the snapshot is of (`--host`; default this machine's name): recorded in the
    /// manifest, and the only host whose snapshots are parents.
    public var host = ProcessInfo.processInfo.hostName
    /// The policy whose retention dates the snapshot's Object Lock (repositories with
    /// `object_lock`; without it they are locked `max_days`).
    public var policy: Policy?

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
    /// `lock`: the repository lock when the caller already holds it (`run`); otherwise a shared
    /// one is taken for the backup. `started`: the snapshot's time (default now; `run --now`
    /// simulates a timeline with it).
    public func run(
        sources: [any SourceAdapter], schedule: String, compression: Compression,
        policyPath: String?, command: String, lock held: RepositoryLock? = nil,
        started: Date = Date()
    ) async throws -> Result {
        if let held {
            return try await run(sources: sources, schedule: schedule, compression: compression, policyPath: policyPath, lock: held, started: started)
        }
        return try await RepositoryLock.with(repository, .shared, command: command) { lock in
            try await run(sources: sources, schedule: schedule, compression: compression, policyPath: policyPath, lock: lock, started: started)
        }
    }

    private func run(
        sources: [any SourceAdapter], schedule: String, compression: Compression,
        policyPath: String?, lock: RepositoryLock, started: Date
    ) async throws -> Result {
        let cleared = clearTemporaries(lock)
        let shift = started.timeIntervalSinceNow  // ≈ 0, unless a simulated clock (`run --now`) is in force
        let id = Hex.random(bytes: 8)
        let named = try repository.snapshotNames(skipping: [])
        if let chosen = self.name, named.values.contains(chosen) {
            throw SnapshotName.taken(chosen)
        }
        var name = self.name ?? Self.uniqueName(schedule: schedule, started: started, taken: Set(named.values))
        var components: [Manifest.Component] = []
        var recoveryPoint = started
        let snapshotLock = try SnapshotLock.make(
            repository: repository, policy: policy, schedule: schedule, sources: sources.map(\.name), host: host, started: started, tags: tags)
        snapshotLock?.begin()
        defer { snapshotLock?.end() }
        do {
            // Format 2: one store for the whole snapshot (its index files are read once).
            let store = repository.config.format == 2 ? try ChunkStore(repository: repository, compression: compression) : nil
            for source in sources {
                let file = "data/\(id)/\(source.name).\(compression.fileExtension)"
                var (component, point) = try await capture(source, file: file, compression: compression, store: store, started: started)
                point = point.addingTimeInterval(shift)
                component.metadata["recovery_point"] = .string(Timestamp.rfc3339(point, fractional: true))
                components.append(component)
                recoveryPoint = max(recoveryPoint, point)
                CrashPoint.reach("after-capture")
            }
            try store?.flush()  // packs and index files durable before the manifest that needs them
            if let snapshotLock {
                // The packs this snapshot shares with older ones must stay as long as it does.
                // So must the index files that name those packs (a pack nobody can find is lost).
                if let store {
                    let reused = store.reusedPackKeys
                    _ = try snapshotLock.extend(reused + store.indexKeys(naming: Set(reused)), progress: progress)
                }
                for i in components.indices { components[i].metadata["locked_until"] = .string(Timestamp.rfc3339(snapshotLock.until)) }
            }
            CrashPoint.reach("before-manifest")
            try lock.confirm()  // a lost lock commits nothing: a prune may have taken it over
            // Another writer (another host) may have committed the same name meanwhile.
            let since = try repository.snapshotNames(skipping: Set(named.keys))
            if since.values.contains(name) {
                if let chosen = self.name { throw SnapshotName.taken(chosen) }
                name = Self.uniqueName(schedule: schedule, started: started, taken: Set(named.values).union(since.values))
            }
            var manifest = Manifest(
                format: repository.config.format == 2 ? Manifest.entryListFormat : Manifest.currentFormat, id: id, name: name, schedule: schedule,
                policy: policyPath,
                host: host, started: Timestamp.rfc3339(started, fractional: true),
                finished: Timestamp.rfc3339(Date().addingTimeInterval(shift), fractional: true),
                recoveryPoint: Timestamp.rfc3339(recoveryPoint, fractional: true),
                tools: BackupRunner.toolVersions, components: components, checksum: nil)
            manifest.tags = tags.isEmpty ? nil : tags
            try repository.commit(manifest)
            CrashPoint.reach("after-manifest")
            progress.clear()
            return Result(manifest: manifest, staleLock: lock.staleHolder, clearedTemporaries: cleared)
        } catch {
            progress.clear()
            // Append-only: the host may not delete; an admin prune removes what this run stored.
            if repository.mayDelete { try? repository.storage.deletePrefix("data/\(id)/") }
            throw error
        }
    }

    private func capture(
        _ source: any SourceAdapter, file: String, compression: Compression, store: ChunkStore?,
        started: Date
    ) async throws -> (Manifest.Component, Date) {
        // Format 2: the plain tar stream is cut into chunks, each compressed (and sealed) alone.
        let chunked = store.map { ChunkingSink(store: $0) }
        let writer = try chunked.map { try ArchiveWriter(sink: $0) } ?? ArchiveWriter(output: try repository.writer(file), compression: compression)
        if chunked != nil { try writer.spoolEntries(in: repository.scratchDirectory) }  // held in no manifest: not in memory either
        if let store, !forceRead {
            writer.parent = try ParentStream.newest(in: repository, store: store, host: host, source: source.name, type: type(of: source).type)
        }
        let name = source.name
        let line = progress
        writer.onProgress = { bytes in line.update("backing up \(name): \(ProgressLine.bytes(bytes)) read") }
        let sourceStarted = Date()
        let outcome = try await source.capture(
            into: writer,
            context: CaptureContext(
                started: sourceStarted, progress: progress,
                scratchDirectory: repository.scratchDirectory,
                repository: repository))
        let stored = try writer.finish()
        var metadata = outcome.metadata
        metadata["compression_setting"] = .string(compression.description)
        metadata["capture_seconds"] = .double((Date().timeIntervalSince(sourceStarted) * 1000).rounded() / 1000)
        if let parent = writer.parent {
            metadata["parent"] = .string(parent.snapshot)
            metadata["files_unchanged"] = .int(Int64(writer.unchangedFiles))
            metadata["bytes_unchanged"] = .int(writer.unchangedBytes)
        }
        var component = Manifest.Component(
            source: source.name, type: type(of: source).type, file: chunked == nil ? file : "", compression: compression.algorithm,
            bytes: stored.bytes, sha256: stored.sha256, contentBytes: writer.contentBytes, entries: chunked == nil ? writer.entries : [],
            metadata: metadata,
            warnings: outcome.warnings)
        if let chunked, let list = chunked.listId, let store {
            component.entryList = try EntryList.store(writer.entrySpool, in: store)
            component.entryCount = writer.entrySpool.count
            let stats = chunked.statistics
            component.chunkList = list.hex
            component.dedup = .init(
                chunks: stats.newChunks + stats.reusedChunks, newChunks: stats.newChunks,
                newBytes: stats.newPlainBytes, storedBytes: stats.newStoredBytes)
        }
        return (component, outcome.recoveryPoint ?? sourceStarted)
    }

    /// `<schedule>-<time>`, with `-2`, `-3` … when that is taken.
    static func uniqueName(schedule: String, started: Date, taken: Set<String>) -> String {
        var name = "\(schedule)-\(Timestamp.compact(started))"
        var suffix = 2
        while taken.contains(name) {
            name = "\(schedule)-\(Timestamp.compact(started))-\(suffix)"
            suffix += 1
        }
        return name
    }

    /// Removes what interrupted writers left (temporary files, unfinished uploads; not WAL pushes
    /// that may still be running), when that is provably all it is: the lock was taken with
    /// nobody else holding it, and the write started before then (other writers that came later
    /// may be running now; they left nothing older).
    private func clearTemporaries(_ lock: RepositoryLock) -> Int {
        guard lock.alone else { return 0 }
        // S3 stamps an upload with the server's clock: allow for skew against ours.
        let cutoff = lock.taken.addingTimeInterval(repository.storage.isLocal ? 0 : -300)
        var removed = 0
        for write in GarbageScan(repository: repository).incompleteWrites() where (write.started ?? .distantPast) < cutoff {
            if (try? repository.storage.removeIncompleteWrite(write.name)) != nil { removed += 1 }
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
