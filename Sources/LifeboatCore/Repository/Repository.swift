import Foundation

/// A repository of snapshots in a `RepositoryStorage` (a directory or an S3 prefix). Layout
/// (docs/FORMAT.md): `config.json`, `snapshots/<id>.json` (manifests), `data/<id>/<source>.<ext>`
/// (stored components), `wal/`, `drills/`, `state/`. A snapshot exists iff its manifest exists;
/// the manifest is written last, with a create-only write.
public struct Repository: Sendable {
    public let storage: any RepositoryStorage
    public let config: RepositoryConfig
    /// The keys of an encrypted repository (nil: not encrypted).
    public let keys: RepositoryKeys?
    /// Where they were read from (empty for an unencrypted repository): what `restore_command`
    /// of a point-in-time restore passes on to `wal fetch`.
    public let keyFiles: KeyFiles

    /// Where it is, as the user wrote it (a path made absolute, or `s3://BUCKET/PREFIX`).
    public var location: String { storage.location }

    /// Opens an existing repository; a location without `config.json` is refused.
    public init(opening location: String, settings: StorageSettings = StorageSettings(), keyFiles: KeyFiles = KeyFiles()) throws {
        try self.init(opening: try StorageSettings.storage(for: location, settings: settings), keyFiles: keyFiles)
    }

    /// Opens the repository in `storage` (any backend: the in-memory one of the tests, too).
    public init(opening storage: any RepositoryStorage, keyFiles: KeyFiles = KeyFiles()) throws {
        guard let data = try storage.get("config.json") else {
            throw LifeboatError(
                .invalidInput, "\(storage.location) is not a Lifeboat repository (no config.json)",
                fix: "create it with `lifeboat init --repo \(storage.location)`, or point --repo at an existing repository")
        }
        let config = try RepositoryConfig.load(Data(data), path: "\(storage.location)/config.json")
        guard RepositoryConfig.readableFormats.contains(config.format) else {
            throw LifeboatError(
                .invalidInput,
                "\(storage.location) has repository format \(config.format); this build reads formats "
                    + RepositoryConfig.readableFormats.map(String.init).joined(separator: " and "),
                fix: "use a Lifeboat release that reads format \(config.format)")
        }
        try self.init(storage: storage, config: config, keyFiles: keyFiles)
    }

    init(storage: any RepositoryStorage, config: RepositoryConfig, keyFiles: KeyFiles) throws {
        self.storage = storage
        self.config = config
        keys = try config.encryption.map {
            try RepositoryKeys(config: $0, repositoryId: config.id, keyFile: keyFiles.keyFile, privateKeyFile: keyFiles.privateKey)
        }
        self.keyFiles = config.encryption == nil ? KeyFiles() : keyFiles
    }

    /// Creates a repository at `location`; refuses one that exists, and a directory that is
    /// not empty.
    @discardableResult
    public static func create(
        at location: String, settings: StorageSettings = StorageSettings(),
        encryption: EncryptionSetup? = nil, format: Int = RepositoryConfig.currentFormat, appendOnly: Bool = false,
        objectLock: ObjectLockConfig? = nil
    ) throws -> Repository {
        try create(
            in: try StorageSettings.storage(for: location, settings: settings), encryption: encryption, format: format,
            appendOnly: appendOnly, objectLock: objectLock)
    }

    /// Creates a repository in `storage`; refuses one that exists, and storage that is not empty.
    @discardableResult
    public static func create(
        in storage: any RepositoryStorage, encryption: EncryptionSetup? = nil,
        format: Int = RepositoryConfig.currentFormat, appendOnly: Bool = false, objectLock: ObjectLockConfig? = nil
    ) throws -> Repository {
        guard RepositoryConfig.readableFormats.contains(format) else {
            throw LifeboatError(.invalidInput, "unknown repository format \(format)", fix: "use --format 1 or --format 2")
        }
        if appendOnly && storage.isLocal {
            throw LifeboatError(
                .invalidInput, "--append-only needs an S3 repository: \(storage.location) is a directory, which any writer can delete from",
                fix: "use s3://BUCKET/PREFIX with a bucket policy that denies the backup host DELETE (docs/append-only.md)")
        }
        // The key material first: a bad key file must leave nothing behind.
        var config = RepositoryConfig(format: format, id: Hex.random(bytes: 8), created: Timestamp.rfc3339(Date()))
        if appendOnly { config.appendOnly = true }
        if let objectLock {
            guard let s3 = storage as? S3Storage else {
                throw LifeboatError(
                    .invalidInput, "--object-lock needs an S3 repository: \(storage.location) is a directory",
                    fix: "use s3://NEW-BUCKET/PREFIX: Object Lock is enabled when a bucket is created")
            }
            try s3.ensureBucketWithObjectLock()
            config.objectLock = objectLock
        }
        var keyFiles = KeyFiles()
        switch encryption {
        case .symmetric(let keyFile):
            let key = try RepositoryKeys.readSymmetricKey(keyFile)
            config.encryption = EncryptionConfig(mode: .symmetric, keyCheck: RepositoryKeys.keyCheck(key, repositoryId: config.id))
            keyFiles.keyFile = keyFile
        case .publicKey(let file):
            let key = try RepositoryKeys.readPublicKey(file)
            config.encryption = EncryptionConfig(mode: .publicKey, publicKey: Data(key).base64EncodedString())
        case nil:
            break
        }
        if let s3 = storage as? S3Storage { try s3.ensureBucket() }
        if try storage.get("config.json") != nil {
            throw LifeboatError(
                .invalidInput, "a repository already exists at \(storage.location)",
                fix: "use it as it is (`lifeboat snapshots --repo \(storage.location)`), or give init a new directory or prefix")
        }
        if let disk = storage as? DiskStorage {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: disk.root, isDirectory: &isDirectory) {
                let contents = (try? FileManager.default.contentsOfDirectory(atPath: disk.root)) ?? []
                guard isDirectory.boolValue, contents.isEmpty else {
                    throw LifeboatError(
                        .invalidInput, "\(disk.root) exists and is not an empty directory",
                        fix: "choose a new path or an empty directory")
                }
            }
            for dir in [disk.root, disk.path("snapshots"), disk.path("data"), disk.path("tmp")] {
                try FileIO.makeDirectory(dir, mode: 0o700)
            }
            guard chmod(disk.root, 0o700) == 0 else { throw LifeboatError.system("cannot set mode 0700 on", path: disk.root) }
            try FileIO.syncDirectory((disk.root as NSString).deletingLastPathComponent)
        } else if try !storage.list("").isEmpty {
            throw LifeboatError(.invalidInput, "\(storage.location) is not empty", fix: "choose a new prefix")
        }
        config.checksum = try config.computeChecksum()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        guard try storage.create("config.json", Array(try encoder.encode(config)) + [0x0a]) else {
            throw LifeboatError(.invalidInput, "a repository already exists at \(storage.location)")
        }
        return try Repository(storage: storage, config: config, keyFiles: keyFiles)
    }

    /// A local directory for scratch files during a capture (the repository's `tmp/` on disk).
    public var scratchDirectory: String {
        (storage as? DiskStorage)?.path("tmp") ?? NSTemporaryDirectory()
    }

    /// Every manifest, proved, oldest first, without entries unless `entries` (load one snapshot
    /// in full with `manifest(id:)`); manifests that fail to load come back as problems.
    public func loadSnapshots(entries: Bool = false) -> (snapshots: [Manifest], problems: [LifeboatError]) {
        let catalog = catalog(entries: entries)
        return (catalog.snapshots, catalog.listingError.map { [$0] } ?? catalog.damaged.map(\.error))
    }

    /// Every manifest: the proved ones oldest first, the damaged ones (with what their bytes
    /// still claim), and those that vanished between the listing and the read (forgotten
    /// meanwhile by a concurrent `forget`: not damage).
    public func catalog(entries: Bool = false) -> SnapshotCatalog {
        var catalog = SnapshotCatalog()
        let keys: [String]
        do {
            keys = try manifestKeys()
        } catch {
            catalog.listingError = error as? LifeboatError ?? LifeboatError(.operationFailed, "cannot list \(location)/snapshots", underlying: error)
            return catalog
        }
        for key in keys {
            let id = Manifest.id(key: key) ?? key
            var bytes: [UInt8]?
            do {
                bytes = try storage.get(key)
                guard let bytes else {
                    catalog.vanished.append(id)
                    continue
                }
                let manifest = try manifest(key: key, data: bytes, entries: entries)
                guard manifest.id == id else { throw LifeboatError(.integrity, "manifest \(location)/\(key) names id \(manifest.id)") }
                catalog.snapshots.append(manifest)
            } catch {
                let failure = error as? LifeboatError ?? LifeboatError(.integrity, "manifest \(location)/\(key)", underlying: error)
                catalog.damaged.append(DamagedManifest(id: id, key: key, error: failure, bytes: bytes))
            }
        }
        catalog.snapshots.sort { ($0.started, $0.id) < ($1.started, $1.id) }
        return catalog
    }

    /// One snapshot's manifest in full (with entries), proved.
    public func manifest(id: String) throws -> Manifest {
        try manifest(id: id, store: nil)
    }

    /// `manifest(id:)`, reading entry lists (manifest format 3) through `store` when given.
    func manifest(id: String, store: ChunkStore?) throws -> Manifest {
        var manifest = try manifest(key: Manifest.key(id: id), entries: true)
        guard manifest.components.contains(where: { $0.entryList != nil }) else { return manifest }
        let store = try store ?? ChunkStore(repository: self)
        for i in manifest.components.indices {
            guard let reference = manifest.components[i].entryList else { continue }
            manifest.components[i].entries = try EntryList.load(
                reference, from: store,
                what: "snapshot \(manifest.name), component \(manifest.components[i].source)")
        }
        return manifest
    }

    private func manifest(key: String, entries: Bool) throws -> Manifest {
        guard let data = try storage.get(key) else {
            throw LifeboatError(.integrity, "manifest \(location)/\(key) cannot be read")
        }
        return try manifest(key: key, data: data, entries: entries)
    }

    private func manifest(key: String, data: [UInt8], entries: Bool) throws -> Manifest {
        let path = "\(location)/\(key)"
        let manifest = try Manifest.load(Data(data), path: path, keepEntries: entries)
        guard let keys else { return manifest }
        guard let sealed = manifest.sealed else {
            throw LifeboatError(.integrity, "manifest \(path) is not encrypted, in an encrypted repository: it was not written by Lifeboat")
        }
        guard keys.canOpen else {
            if entries { throw keys.missingKey("reading a snapshot's contents") }
            return manifest  // the plaintext envelope: names, times, stored sizes and hashes
        }
        guard let bytes = Data(base64Encoded: sealed) else { throw LifeboatError(.integrity, "manifest \(path): the sealed copy is not base64") }
        let full: Manifest
        do {
            full = try Manifest.load(Data(try SealedObject.open(Array(bytes), keys: keys)), path: path, keepEntries: entries)
        } catch let error as LifeboatError {
            throw LifeboatError(.integrity, "manifest \(path): \(error.message)")
        }
        var envelope = manifest
        envelope.checksum = nil
        guard try full.envelope(sealed: sealed).computeChecksum() == envelope.computeChecksum() else {
            throw LifeboatError(.integrity, "manifest \(path): the plaintext envelope does not match the encrypted manifest (it was edited)")
        }
        return full
    }

    /// Commits a snapshot: writes its manifest, create-only. Until this returns the snapshot does
    /// not exist. In an encrypted repository the manifest is sealed whole inside a plaintext
    /// envelope, so commands without the private key can still list, prune and verify.
    public func commit(_ manifest: Manifest) throws {
        var stored = manifest
        if let keys {
            guard keys.canSeal else { throw keys.missingKey("a backup") }
            let sealed = Data(try SealedObject.seal(try manifest.sealedBytes(), keys: keys)).base64EncodedString()
            stored = manifest.envelope(sealed: sealed)
        }
        guard try storage.create(manifest.key, try stored.sealedBytes()) else {
            throw LifeboatError(.operationFailed, "snapshot id \(manifest.id) exists already in \(location); nothing was overwritten")
        }
    }

    /// The names of all snapshots, from a light decode of each manifest (no entries, no proof):
    /// enough to keep a new name unique without holding every manifest in memory.
    public func snapshotNames() throws -> Set<String> {
        Set(try snapshotNames(skipping: []).values)
    }

    /// The snapshot name of each manifest key not in `skipping` (light decode, as above): what
    /// other writers committed since a first call, without reading every manifest again.
    public func snapshotNames(skipping known: Set<String>) throws -> [String: String] {
        struct Header: Decodable { var name: String }
        var names: [String: String] = [:]
        for key in try manifestKeys() where !known.contains(key) {
            if let data = try storage.get(key), let header = try? JSONDecoder().decode(Header.self, from: Data(data)) {
                names[key] = header.name
            }
        }
        return names
    }

    /// Manifest keys (`snapshots/<id>.json`): the listing uses the manifest prefix only.
    func manifestKeys() throws -> [String] {
        try storage.list(Manifest.folder).map(\.key).filter { Manifest.id(key: $0) != nil }
    }

    /// The ids of committed snapshots.
    public func snapshotIds() throws -> Set<String> {
        Set(try manifestKeys().compactMap { Manifest.id(key: $0) })
    }
}
