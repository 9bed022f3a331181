import Foundation

/// Proves snapshots against their manifests. Plain: every manifest's checksum, and every stored
/// byte re-read and hashed. Deep: also decompresses, walks the tar, checks each entry's path,
/// size and SHA-256, and runs the adapter's format check on each entry.
public struct Verifier {
    public let repository: Repository
    public let progress: ProgressLine

    public init(repository: Repository, progress: ProgressLine) {
        self.repository = repository
        self.progress = progress
    }

    /// Verifies the snapshots `selectors` name (all when empty).
    /// With `subset` (format 2, plain verify): also reads that subset of the packs and proves
    /// every chunk in them that a chosen snapshot needs.
    public func run(selectors: [String], deep: Bool, subset: DataSubset? = nil) throws -> VerifyReport {
        if deep, let keys = repository.keys, !keys.canOpen { throw keys.missingKey("verify --deep") }
        if let subset {
            guard repository.config.format == 2 else {
                throw LifeboatError(
                    .invalidInput,
                    "--read-data-subset \(subset) needs a format-2 repository; \(repository.location) is format \(repository.config.format)",
                    fix: "plain `verify` re-reads every stored file of a format-1 repository already")
            }
            guard !deep else { throw LifeboatError(.invalidInput, "--read-data-subset and --deep do not go together: --deep reads everything") }
            if let keys = repository.keys, !keys.canOpen { throw keys.missingKey("verify --read-data-subset") }
        }
        let catalog = repository.catalog()
        if let error = catalog.listingError { throw error }
        let all = catalog.snapshots
        var problems = catalog.damaged.map { VerifyReport.Problem(snapshot: nil, id: $0.id, component: nil, message: $0.error.message) }
        var forgottenMeanwhile = catalog.vanished
        var chosen: [Manifest] = []
        if selectors.isEmpty {
            chosen = all
        } else {
            for selector in selectors {
                let manifest = try SnapshotSelector(selector).resolve(in: catalog)
                if !chosen.contains(where: { $0.id == manifest.id }) { chosen.append(manifest) }
            }
        }
        // Format 2: the index and the pack listing, read once for every component.
        let chunks = repository.config.format == 2 ? try ChunkView(repository: repository, listPacks: !deep) : nil
        var results: [VerifyReport.SnapshotResult] = []
        var contentWarnings: [String] = []
        var verifiedBytes: Int64 = 0
        for manifest in chosen {
            var ok = true
            var full: Manifest?  // with entries, loaded once when the first component needs it
            for component in manifest.components {
                do {
                    if deep {
                        if full == nil { full = try repository.manifest(id: manifest.id, store: chunks?.store) }
                        contentWarnings += try verifyDeep(full!, component.source, store: chunks?.store)
                    } else {
                        try verifyStored(manifest, component, base: verifiedBytes, chunks: chunks)
                    }
                } catch let error as LifeboatError {
                    if !manifestExists(manifest.id) {  // a concurrent forget (+ prune) removed it: not damage
                        forgottenMeanwhile.append(manifest.id)
                        break
                    }
                    ok = false
                    problems.append(.init(snapshot: manifest.name, id: manifest.id, component: component.source, message: error.message))
                }
                verifiedBytes += component.bytes
            }
            if forgottenMeanwhile.contains(manifest.id) { continue }
            results.append(
                .init(
                    id: manifest.id, name: manifest.name, ok: ok, components: manifest.components.count,
                    bytes: manifest.components.reduce(0) { $0 + $1.bytes }))
        }
        let subsetResult = try subset.map { subset in
            try readSubset(subset, snapshots: chosen.filter { !forgottenMeanwhile.contains($0.id) }, store: chunks!.store, problems: &problems)
        }
        let wal = selectors.isEmpty ? try verifyWAL(deep: deep, snapshots: all, problems: &problems) : nil
        var locksChecked: Int?
        if repository.config.objectLock != nil, let s3 = repository.storage as? S3Storage {
            let kept = chosen.filter { !forgottenMeanwhile.contains($0.id) }
            let (lockProblems, checked) = LockCheck(repository: repository, s3: s3, progress: progress).run(kept, store: chunks?.store)
            problems += lockProblems
            locksChecked = checked
        }
        progress.clear()
        let holders = RepositoryLock.currentHolders(of: repository)
        let garbage = (try? GarbageScan(repository: repository).items()) ?? []
        var warnings = contentWarnings
        let holdsPacks = repository.config.format == 2 && !((try? repository.storage.list("packs/").isEmpty) ?? true)
        if all.isEmpty && catalog.damaged.isEmpty && (holdsPacks || garbage.contains(where: { $0.kind == .unreferencedData })) {
            warnings.append(
                "the repository holds data but no snapshot: if snapshots/ was emptied by accident, restore its manifests before anything runs `prune`"
            )
        }
        if let s3 = repository.storage as? S3Storage, repository.config.isAppendOnly, !s3.usesAdminCredentials,
            let prefix = try? RansomwareAttack.deletablePrefix(s3)
        {
            warnings.append(
                "\(repository.location) is append-only, but these credentials may delete (S3 permitted a DELETE under \"\(prefix)\"): "
                    + "a compromised host could destroy every backup; set the bucket policy in docs/append-only.md")
        }
        if !forgottenMeanwhile.isEmpty {
            warnings.append(
                "\(forgottenMeanwhile.count) snapshot\(forgottenMeanwhile.count == 1 ? " was" : "s were") forgotten while verify ran: "
                    + forgottenMeanwhile.sorted().joined(separator: ", "))
        }
        for i in results.indices where problems.contains(where: { $0.id == results[i].id }) { results[i].ok = false }
        return VerifyReport(
            ok: problems.isEmpty, deep: deep, dataSubset: subsetResult, snapshots: results, problems: problems,
            garbage: garbage.map(\.name), writerActive: holders.isEmpty ? nil : holders.map { "\($0)" }.joined(separator: "; "), wal: wal,
            warnings: warnings, forgottenMeanwhile: forgottenMeanwhile.sorted(), locksChecked: locksChecked)
    }

    /// Reads the packs of `subset` and proves every chunk in them that `snapshots` need (pack
    /// hash, blob, decompression, chunk id). A damaged pack or chunk is a problem for every
    /// snapshot and component that needs it.
    private func readSubset(
        _ subset: DataSubset, snapshots: [Manifest], store: ChunkStore,
        problems: inout [VerifyReport.Problem]
    ) throws -> VerifyReport.SubsetResult {
        struct Need: Hashable {
            var snapshot: String
            var id: String
            var component: String
        }
        var wanted: [String: (pack: IndexFile.Pack, ids: [ChunkId])] = [:]
        var needers: [ChunkId: Set<Need>] = [:]
        for manifest in snapshots {
            for component in manifest.components {
                // A list that does not read was reported by the plain check above.
                guard let lists = try? component.chunkLists() else { continue }
                for list in lists {
                    for id in (try? store.listedChunks(list)) ?? [] {
                        guard let (pack, _) = store.location(of: id), subset.contains(pack: pack.name) else { continue }
                        let need = Need(snapshot: manifest.name, id: manifest.id, component: component.source)
                        if needers[id] == nil { wanted[pack.name, default: (pack, [])].ids.append(id) }
                        needers[id, default: []].insert(need)
                    }
                }
            }
        }
        var result = VerifyReport.SubsetResult(
            subset: subset.description, packs: 0, packsInRepository: store.indexedPackCount,
            chunks: 0, storedBytes: 0)
        var reported = Set<Need>()
        func fail(_ ids: [ChunkId], _ message: String) {
            for need in ids.flatMap({ needers[$0] ?? [] }).sorted(by: { ($0.snapshot, $0.component) < ($1.snapshot, $1.component) })
            where reported.insert(need).inserted {
                problems.append(
                    .init(
                        snapshot: need.snapshot, id: need.id, component: need.component,
                        message: "snapshot \(need.snapshot) (\(need.id.prefix(8))), component \(need.component): \(message)"))
            }
        }
        for (number, name) in wanted.keys.sorted().enumerated() {
            let (pack, ids) = wanted[name]!
            progress.update("reading data subset \(subset): pack \(number + 1) of \(wanted.count)")
            let bytes: [UInt8]
            do {
                bytes = try store.fetch(pack)
            } catch let error as LifeboatError where error.code == .integrity {
                fail(ids, error.message)
                continue
            }
            result.packs += 1
            result.storedBytes += Int64(bytes.count)
            for id in ids {
                do {
                    _ = try store.read(id) { _ in bytes }
                    result.chunks += 1
                } catch let error as LifeboatError where error.code == .integrity {
                    fail([id], error.message)
                }
            }
        }
        return result
    }

    private func manifestExists(_ id: String) -> Bool {
        ((try? repository.storage.get(Manifest.key(id: id))) ?? nil) != nil
    }

    /// Re-reads the stored file and compares size and SHA-256 with the manifest. Format 2: every
    /// chunk the component needs is in the index and in a stored pack of the indexed size.
    private func verifyStored(_ manifest: Manifest, _ component: Manifest.Component, base: Int64, chunks: ChunkView?) throws {
        let matcher = EntryMatcher(snapshot: manifest, component: component)
        if component.chunkList != nil {
            do {
                guard let id = try component.chunkListId() else { return }
                let view = try chunks ?? ChunkView(repository: repository, listPacks: true)
                _ = try view.store.checkReferences(list: id, packSizes: view.packSizes)
                if let list = try component.entryListId() {
                    do {
                        _ = try view.store.checkReferences(list: list, packSizes: view.packSizes)
                    } catch let error as LifeboatError {
                        throw LifeboatError(.integrity, "its entry list: \(error.message)")
                    }
                }
            } catch let error as LifeboatError where error.code == .integrity {
                throw matcher.failure(error.message)
            }
            progress.update("verifying \(manifest.name) \(component.source): chunks referenced")
            return
        }
        guard let input = try repository.storage.reader(component.file) else {
            throw matcher.failure("stored file \(component.file) is missing")
        }
        defer { input.close() }
        var total: Int64 = 0
        let digest = try input.forEachChunk { chunk in
            total += Int64(chunk.count)
            progress.update("verifying \(manifest.name) \(component.source): \(ProgressLine.bytes(base + total))")
        }
        try matcher.checkStored((digest.sha256, digest.bytes))
    }

    /// Walks every entry through `ComponentReader` and the adapter's content check. Returns the
    /// checks' warnings (anomalies that a restore loads through).
    private func verifyDeep(_ manifest: Manifest, _ source: String, store: ChunkStore?) throws -> [String] {
        guard let component = manifest.component(source) else { return [] }
        var warnings: [String] = []
        let adapter = SourceAdapters.named(component.type)
        let reader = try ComponentReader(repository: repository, snapshot: manifest, component: component, store: store)
        let whole = adapter?.componentCheck(for: component)
        var entries = 0
        while let entry = try reader.next() {
            let check = adapter?.contentCheck(for: entry.record, in: component)
            try whole?.begin(entry.record)
            try reader.readData { bytes in
                try check?.consume(bytes)
                try whole?.consume(bytes, of: entry.record)
            }
            do {
                try check?.finish()
                warnings += (check?.warnings ?? []).map { "\(manifest.name) \(source) \"\(entry.record.path)\": \($0)" }
            } catch let error as LifeboatError {
                throw EntryMatcher(snapshot: manifest, component: component).failure("entry \"\(entry.record.path)\": \(error.message)")
            }
            entries += 1
            progress.update("deep-verifying \(manifest.name) \(component.source): \(entries) entries")
        }
        do {
            try whole?.finish()
        } catch let error as LifeboatError where error.code == .integrity {
            throw EntryMatcher(snapshot: manifest, component: component).failure(error.message)
        }
        return warnings
    }

    /// The WAL archive: no segment missing between the first and the last of each timeline (a
    /// gap ends point-in-time recovery there), and with `deep` each file decompressed and its
    /// content's SHA-256 compared with the one in its name.
    private func verifyWAL(deep: Bool, snapshots: [Manifest], problems: inout [VerifyReport.Problem]) throws -> VerifyReport.WALResult? {
        let files = try WALArchive(repository: repository).all()
        guard !files.isEmpty else { return nil }
        let segmentSize = snapshots.flatMap(\.components).compactMap { PostgresMetadata($0).walSegmentSize }.first ?? 16 << 20
        let gaps = WALArchive.gaps(in: files.map(\.name), segmentSize: segmentSize)
        for gap in gaps {
            problems.append(
                .init(
                    snapshot: nil, id: nil, component: "wal",
                    message: "the WAL archive has a gap: \(gap); point-in-time recovery cannot replay past it"))
        }
        var checked = 0
        if deep {
            for file in files {
                progress.update("deep-verifying WAL: \(checked) of \(files.count) files")
                do {
                    guard let input = try repository.open(key: file.key) else { throw WALArchive.missing(file.name) }
                    defer { input.close() }
                    let result = try RawStream.decompress(input, path: "\(repository.location)/\(file.key)") { _ in }
                    if result.sha256 != file.sha256 {
                        problems.append(
                            .init(
                                snapshot: nil, id: nil, component: "wal",
                                message:
                                    "archived WAL file \(file.name) is damaged: its content hashes to \(result.sha256.prefix(16))…, not \(file.sha256.prefix(16))…"
                            ))
                    }
                } catch let error as LifeboatError {
                    problems.append(.init(snapshot: nil, id: nil, component: "wal", message: "archived WAL file \(file.name): \(error.message)"))
                } catch {
                    problems.append(.init(snapshot: nil, id: nil, component: "wal", message: "archived WAL file \(file.name): \(error)"))
                }
                checked += 1
            }
        }
        return .init(files: files.count, storedBytes: files.reduce(0) { $0 + $1.storedBytes }, checked: checked, gaps: gaps)
    }
}

/// A format-2 repository as one verify run sees it: the chunk store (every index file read once)
/// and, for plain verify, the stored packs and their sizes (listed once).
private struct ChunkView {
    let store: ChunkStore
    let packSizes: [String: Int64]

    init(repository: Repository, listPacks: Bool) throws {
        store = try ChunkStore(repository: repository)
        packSizes = listPacks ? try store.storedPacks() : [:]
    }
}
