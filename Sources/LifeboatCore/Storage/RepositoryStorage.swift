import Foundation

/// Where a repository's objects live. Keys are `/`-separated paths relative to the repository
/// (`config.json`, `snapshots/<id>.json`, `data/<id>/<source>.tar.zst`, `wal/…`). Two backends
/// implement it, a local directory (`DiskStorage`) and an S3 bucket prefix (`S3Storage`), and one
/// conformance suite (Tests/…/StorageConformance) holds both to the same contract:
///
/// - `put` and a committed `writer` replace an object whole or not at all, durably;
/// - `create` writes only when the key is absent (the manifest commit: never overwrite);
/// - `get`/`reader` of an absent key give nil, never an empty object;
/// - `list` returns committed objects only, never in-flight writes;
/// - `incompleteWrites` names what interrupted writers left (temporary files, multipart uploads)
///   so `prune` can remove it.
public protocol RepositoryStorage: Sendable {
    /// The location as the user wrote it: a directory path or `s3://BUCKET/PREFIX`.
    var location: String { get }
    /// True for the local-directory backend (fsync semantics, flock, local scratch space).
    var isLocal: Bool { get }
    /// True when opened with `--admin-credentials`: the credentials that may delete in an
    /// append-only repository.
    var usesAdminCredentials: Bool { get }

    func get(_ key: String) throws -> [UInt8]?
    func put(_ key: String, _ bytes: [UInt8]) throws
    /// Writes only if `key` does not exist; false (and nothing written) when it does.
    func create(_ key: String, _ bytes: [UInt8]) throws -> Bool
    func delete(_ key: String) throws
    /// Removes every one of `keys` (missing ones are fine): one request per 1,000 keys on S3.
    func delete(_ keys: [String]) throws
    /// Committed objects whose key starts with `prefix`, sorted by key.
    func list(_ prefix: String) throws -> [StoredObject]
    /// The names one level below `prefix` (which ends in `/`): `data/` → `["0123…", …]`.
    func children(_ prefix: String) throws -> [String]
    func size(_ key: String) throws -> Int64?
    /// A streaming writer; nothing is visible at `key` until `commit`.
    func writer(_ key: String) throws -> any ObjectWriter
    /// A streaming writer for an object named by its content: `commit` stores it under
    /// `key(digest of everything written)`. Same guarantees as `writer`.
    func contentNamedWriter(_ key: @escaping @Sendable (StoredDigest) -> String) throws -> any ObjectWriter
    /// A streaming reader, or nil when `key` does not exist.
    func reader(_ key: String) throws -> (any ObjectReader)?
    /// Removes every object under `prefix` (which ends in `/`).
    func deletePrefix(_ prefix: String) throws
    /// What interrupted writes left behind: temporary files, unfinished multipart uploads.
    func incompleteWrites() throws -> [IncompleteWrite]
    func removeIncompleteWrite(_ name: String) throws
    /// The repository lock in `mode` (see `RepositoryLock`), or `.locked` naming the holders.
    func acquireLock(_ holder: RepositoryLock.Holder, mode: RepositoryLock.Mode) throws -> any StorageLock
    /// The live holders, probed without taking the lock.
    func lockHolders() -> [RepositoryLock.Holder]
}

/// One committed object.
public struct StoredObject: Sendable, Equatable {
    public var key: String
    public var size: Int64
    public var modified: Date?
    public init(key: String, size: Int64, modified: Date? = nil) {
        self.key = key
        self.size = size
        self.modified = modified
    }
}

/// A write that never committed (or is still running: see `started`).
public struct IncompleteWrite: Sendable {
    /// How `removeIncompleteWrite` and reports name it.
    public var name: String
    /// The key it was (or is) writing.
    public var key: String
    public var bytes: Int64
    public var started: Date?
    public init(name: String, key: String, bytes: Int64, started: Date?) {
        self.name = name
        self.key = key
        self.bytes = bytes
        self.started = started
    }
}

/// SHA-256 and size of the bytes as they sit in storage.
public struct StoredDigest: Sendable, Equatable {
    public var sha256: String
    public var bytes: Int64
    public init(sha256: String, bytes: Int64) {
        self.sha256 = sha256
        self.bytes = bytes
    }
}

/// SHA-256 and size of bytes as they pass; every backend's writer and reader keeps one, so
/// the digest always describes the bytes in storage.
final class StoredBytesDigest {
    private let hasher = SHA256Hasher()
    private(set) var bytes: Int64 = 0
    private var final: StoredDigest?

    func update(_ chunk: UnsafeRawBufferPointer) {
        hasher.update(chunk)
        bytes += Int64(chunk.count)
    }

    /// The digest of everything seen; the hash is closed on the first call.
    func finish() -> StoredDigest {
        if let final { return final }
        let digest = StoredDigest(sha256: hasher.finalize(), bytes: bytes)
        final = digest
        return digest
    }

    /// The finished digest, or (before the end) the byte count with an empty hash.
    var current: StoredDigest { final ?? StoredDigest(sha256: "", bytes: bytes) }
}

extension RepositoryStorage {
    public var usesAdminCredentials: Bool { false }

    /// One at a time: a local directory has no batch.
    public func delete(_ keys: [String]) throws {
        for key in keys { try delete(key) }
    }

    /// Keeps the bytes in memory and `put`s them at commit (a backend with no rename).
    public func contentNamedWriter(_ key: @escaping @Sendable (StoredDigest) -> String) throws -> any ObjectWriter {
        BufferedObjectWriter(storage: self, key: key)
    }
}

/// `contentNamedWriter` for a backend that cannot rename: the object is held in memory.
final class BufferedObjectWriter: ObjectWriter {
    private let storage: any RepositoryStorage
    private let key: (StoredDigest) -> String
    private var bytes: [UInt8] = []
    private let stored = StoredBytesDigest()

    init(storage: any RepositoryStorage, key: @escaping (StoredDigest) -> String) {
        self.storage = storage
        self.key = key
    }

    func write(_ chunk: UnsafeRawBufferPointer) throws {
        bytes.append(contentsOf: chunk)
        stored.update(chunk)
    }

    func commit() throws -> StoredDigest {
        let digest = stored.finish()
        try storage.put(key(digest), bytes)
        bytes = []
        return digest
    }

    func abort() { bytes = [] }
}

/// A streaming write of one object. Every backend hashes the bytes it stores, so the digest
/// `commit` returns is what a later read of the object must reproduce.
public protocol ObjectWriter: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Makes the object visible and durable; returns the stored bytes' digest.
    func commit() throws -> StoredDigest
    /// Drops everything written; safe to call after a failure or twice.
    func abort()
}

/// A streaming read of one object; hashes what it reads.
public protocol ObjectReader: AnyObject {
    /// Fills `buffer`; 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// The digest of everything read so far (the whole object once `read` returned 0).
    var digest: StoredDigest { get }
    func close()
}

/// A held repository lock; released by `release` or when the holder dies.
public protocol StorageLock: AnyObject {
    /// The record of an earlier holder that died without releasing, if one was found.
    var staleHolder: RepositoryLock.Holder? { get }
    /// Nobody else held the lock when this one was taken.
    var alone: Bool { get }
    /// Fails (`RepositoryLock.lost`) unless the lock is provably still held now.
    func confirm() throws
    func release()
}

extension ObjectReader {
    /// Reads to the end in chunks of up to 1 MiB.
    @discardableResult
    public func forEachChunk(_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> StoredDigest {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try read(into: $0) }
            if n == 0 { return digest }
            try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
    }

    /// The whole object (for small ones: manifests, config).
    public func readAll() throws -> [UInt8] {
        var all: [UInt8] = []
        try forEachChunk { all.append(contentsOf: $0) }
        return all
    }
}

extension ObjectWriter {
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }
}
