import Foundation

/// `lifeboat migrate`: copies every snapshot of a repository (format 1 or 2) into a format-2
/// repository, without changing what a restore gives. Each component's tar stream is read back
/// (its stored bytes proved against the manifest as they are read), decompressed and chunked into
/// the target; the manifest keeps its id, name, times, entries and metadata and is committed
/// create-only, so a killed migration is resumed by running it again (snapshots already in the
/// target are skipped). The WAL archive and drill reports are copied object for object. The
/// source is only read.
public struct Migration {
    public let source: Repository
    public let target: Repository
    public let progress: ProgressLine

    public init(source: Repository, target: Repository, progress: ProgressLine) {
        self.source = source
        self.target = target
        self.progress = progress
    }

    public struct Report: Codable, Sendable {
        public var migrated: [String] = []
        public var skipped: [String] = []
        /// Stream bytes read from the source, and what the target stored for them.
        public var bytes: Int64 = 0
        public var storedBytes: Int64 = 0
        public var objectsCopied = 0

        enum CodingKeys: String, CodingKey {
            case migrated, skipped, bytes
            case storedBytes = "stored_bytes"
            case objectsCopied = "objects_copied"
        }
    }

    /// `lock`: the target's (shared) lock, confirmed before each manifest commit.
    public func run(under lock: RepositoryLock) throws -> Report {
        guard target.config.format == 2 else {
            throw LifeboatError(
                .invalidInput, "\(target.location) is a format-\(target.config.format) repository; migrate writes into format 2",
                fix: "create the target with `lifeboat init --repo NEW --format 2` (add --encrypt … to encrypt it)")
        }
        guard source.location != target.location else { throw LifeboatError(.invalidInput, "source and target are the same repository") }
        if let keys = source.keys, !keys.canOpen { throw keys.missingKey("migrating (reading the source)") }
        let catalog = source.catalog()
        if let error = catalog.listingError { throw error }
        if let damaged = catalog.damaged.first {
            throw LifeboatError(
                .integrity, "the source has \(catalog.damaged.count) damaged manifest(s), first \(damaged.id): \(damaged.error.message)",
                fix: "run `lifeboat verify` on the source; nothing was migrated")
        }
        let present = try target.snapshotIds()
        let store = try ChunkStore(repository: target)  // one for the whole migration: the index is read once
        var report = Report()
        for summary in catalog.snapshots {
            if present.contains(summary.id) {
                report.skipped.append(summary.name)
                continue
            }
            let manifest = try source.manifest(id: summary.id)
            var copy = manifest
            copy.format = Manifest.entryListFormat
            copy.checksum = nil
            copy.sealed = nil
            for (i, component) in manifest.components.enumerated() {
                progress.update("migrating \(manifest.name) \(component.source)")
                copy.components[i] = try migrate(component, of: manifest, into: store, report: &report)
            }
            try store.flush()  // packs and index files durable before the manifest
            try lock.confirm()
            try target.commit(copy)
            report.migrated.append(manifest.name)
        }
        report.objectsCopied = try copyObjects(under: ["wal/", "drills/"])
        progress.clear()
        return report
    }

    private func migrate(
        _ component: Manifest.Component, of manifest: Manifest, into store: ChunkStore,
        report: inout Report
    ) throws -> Manifest.Component {
        let matcher = EntryMatcher(snapshot: manifest, component: component)
        guard let input = try source.open(component) else { throw matcher.failure("stored file \(component.file) is missing") }
        defer { input.close() }
        let setting = Compression(parsing: component.metadata["compression_setting"]?.stringValue ?? "") ?? .default
        let compression = setting == .none ? Compression.default : setting
        let sink = ChunkingSink(store: store, compression: compression)
        let streamed: (sha256: String, bytes: Int64)
        do {
            if component.chunkList != nil {  // format 2 already: the stream as is
                try input.forEachChunk { try sink.write($0) }
            } else {
                try RawStream.decompress(input, path: "\(source.location)/\(component.file)") { try sink.write($0) }
            }
            // The source's stored bytes, as its manifest promises them.
            try matcher.checkStored((input.digest.sha256, input.digest.bytes))
            streamed = try sink.finish()
        } catch {
            sink.abandon()
            throw error
        }
        var copy = component
        copy.file = ""
        copy.chunkList = sink.listId?.hex
        copy.entryList = try EntryList.store(component.entries, in: store, compression: compression)
        copy.entries = []
        copy.sha256 = streamed.sha256
        copy.bytes = streamed.bytes
        copy.compression = compression.algorithm
        let stats = sink.statistics
        copy.dedup = .init(
            chunks: stats.newChunks + stats.reusedChunks, newChunks: stats.newChunks,
            newBytes: stats.newPlainBytes, storedBytes: stats.newStoredBytes)
        report.bytes += streamed.bytes
        report.storedBytes += stats.newStoredBytes
        return copy
    }

    /// Copies the objects under `prefixes` that the target lacks, byte for byte (they are the
    /// same in both formats; in an encrypted repository both must use the same keys).
    private func copyObjects(under prefixes: [String]) throws -> Int {
        var copied = 0
        for prefix in prefixes {
            for object in try source.storage.list(prefix) where try target.storage.size(object.key) == nil {
                guard let bytes = try source.storage.get(object.key) else { continue }
                try target.storage.put(object.key, bytes)
                copied += 1
            }
        }
        return copied
    }
}
