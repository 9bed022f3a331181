import Foundation
import LifeboatCore
import Synchronization

/// A `RepositoryStorage` in memory, for fast in-process tests of the repository, backup,
/// verify, restore and prune, with faults injected where real storage fails:
///
/// - `failObjectWrite(number:)`: the Nth object write (`put`, `create`, a writer's `commit`)
///   fails, as a full disk or a 500 from S3 would;
/// - `shortenReads(under:)`: readers of those keys return the first half of the object and
///   then end, as a truncated file or a cut connection read to the end would;
/// - `stallLockRefresh()`: held locks can no longer be confirmed (`confirm` fails as a lost S3
///   lock does);
/// - `crash(at:)`: at the named crash point the storage freezes, as a `kill -9` or a power cut
///   leaves it: what was committed stays, writes in flight stay as incomplete writes, held
///   locks belong to a dead holder, and every later call fails. `afterCrash()` is the storage
///   the next process finds.
///
/// It keeps the same contract as the disk and S3 backends (`StorageConformance` checks all
/// three).
public final class MemoryStorage: RepositoryStorage, @unchecked Sendable {
    public let location: String
    public var isLocal: Bool { false }

    struct Pending {
        var key: String
        var bytes: Int64
        var started: Date
    }

    struct LockRecord {
        var holder: RepositoryLock.Holder
        var mode: RepositoryLock.Mode
        var alive: Bool
    }

    struct State {
        var objects: [String: (bytes: [UInt8], modified: Date)] = [:]
        var pending: [String: Pending] = [:]
        var locks: [Int: LockRecord] = [:]
        var serial = 0
        var objectWrites = 0
        var failingWrite: Int?
        var shortReadPrefix: String?
        var lockRefreshStalled = false
        var crashPoint: String?
        var crashedAt: String?
        var pointsReached: [String] = []
        var keysRead: [String] = []
    }

    let state: Mutex<State>

    public init(label: String = "test") {
        location = "memory://\(label)"
        state = Mutex(State())
    }

    private init(location: String, state: State) {
        self.location = location
        self.state = Mutex(state)
    }

    // MARK: Faults

    /// The `number`th object write from now on (1 = the next) fails.
    public func failObjectWrite(number: Int) {
        state.withLock { $0.failingWrite = $0.objectWrites + number }
    }

    /// Readers of keys under `prefix` return half of the object.
    public func shortenReads(under prefix: String) {
        state.withLock { $0.shortReadPrefix = prefix }
    }

    /// Held locks can no longer be confirmed.
    public func stallLockRefresh() {
        state.withLock { $0.lockRefreshStalled = true }
    }

    /// Freezes the storage at crash point `point` (see `CrashPoint`). Storage-level points
    /// (`atomic-write-before-rename`, `object-before-rename`) are this storage's own; the
    /// others are reached by the code that runs in `body`, which sees them through the task-local
    /// observer bound here. Returns whether the crash happened.
    public func crash<T>(at point: String, _ body: () async throws -> T) async -> Bool {
        state.withLock { $0.crashPoint = point }
        _ = try? await CrashPoint.$simulated.withValue({ [self] name in reach(name) }) {
            try await body()
        }
        return crashed
    }

    /// The same for synchronous work (forget, prune).
    public func crash<T>(at point: String, _ body: () throws -> T) -> Bool {
        state.withLock { $0.crashPoint = point }
        _ = try? CrashPoint.$simulated.withValue({ [self] name in reach(name) }) {
            try body()
        }
        return crashed
    }

    /// Every key read so far (`get` and `reader`), in order.
    public var keysRead: [String] { state.withLock { $0.keysRead } }

    public var crashed: Bool { state.withLock { $0.crashedAt != nil } }

    /// Every crash point reached so far, in order.
    public var pointsReached: [String] { state.withLock { $0.pointsReached } }

    /// What the next process finds after the crash: the committed objects, the writes that were
    /// in flight (incomplete), and the crashed holders' lock records, now dead.
    public func afterCrash() -> MemoryStorage {
        var image = state.withLock { $0 }
        image.crashPoint = nil
        image.crashedAt = nil
        image.failingWrite = nil
        image.lockRefreshStalled = false
        for key in image.locks.keys { image.locks[key]?.alive = false }
        return MemoryStorage(location: location, state: image)
    }

    func reach(_ point: String) {
        state.withLock {
            $0.pointsReached.append(point)
            if $0.crashPoint == point, $0.crashedAt == nil { $0.crashedAt = point }
        }
    }

    /// Throws when the storage is frozen by a crash.
    func alive() throws {
        if let point = state.withLock({ $0.crashedAt }) {
            throw LifeboatError(.operationFailed, "simulated crash at \(point): the process is gone")
        }
    }

    /// Counts an object write; throws the injected failure or the crash.
    func countWrite(_ key: String) throws {
        try alive()
        let failing = state.withLock { s -> Bool in
            s.objectWrites += 1
            return s.objectWrites == s.failingWrite
        }
        if failing { throw LifeboatError(.operationFailed, "\(location): injected failure writing \(key)") }
    }

    // MARK: Objects

    public func get(_ key: String) throws -> [UInt8]? {
        guard let reader = try reader(key) else { return nil }
        defer { reader.close() }
        return try reader.readAll()
    }

    public func put(_ key: String, _ bytes: [UInt8]) throws {
        try countWrite(key)
        let name = try staged(key, bytes)
        finish(name, committing: bytes, at: key)
    }

    public func create(_ key: String, _ bytes: [UInt8]) throws -> Bool {
        try countWrite(key)
        let name = try staged(key, bytes)
        return state.withLock { s in
            s.pending.removeValue(forKey: name)
            guard s.objects[key] == nil else { return false }
            s.objects[key] = (bytes, Date())
            return true
        }
    }

    /// A whole-object write up to its commit: the bytes are in flight (an incomplete write, if
    /// the crash comes now) until the caller commits them.
    private func staged(_ key: String, _ bytes: [UInt8]) throws -> String {
        let name = begin(key)
        grew(name, to: Int64(bytes.count))
        reach("atomic-write-before-rename")
        try alive()
        return name
    }

    public func delete(_ key: String) throws {
        try alive()
        _ = state.withLock { $0.objects.removeValue(forKey: key) }
    }

    public func list(_ prefix: String) throws -> [StoredObject] {
        try alive()
        return state.withLock { s in
            s.objects.filter { $0.key.hasPrefix(prefix) }
                .map { StoredObject(key: $0.key, size: Int64($0.value.bytes.count), modified: $0.value.modified) }
        }.sorted { $0.key < $1.key }
    }

    public func children(_ prefix: String) throws -> [String] {
        try alive()
        let names = state.withLock { s in
            s.objects.keys.filter { $0.hasPrefix(prefix) }.compactMap { key in
                key.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false).first.map(String.init)
            }
        }
        return Set(names).sorted()
    }

    public func size(_ key: String) throws -> Int64? {
        try alive()
        return state.withLock { s in s.objects[key].map { Int64($0.bytes.count) } }
    }

    public func writer(_ key: String) throws -> any ObjectWriter {
        try alive()
        return MemoryObjectWriter(storage: self, pending: key) { _ in key }
    }

    public func contentNamedWriter(_ key: @escaping @Sendable (StoredDigest) -> String) throws -> any ObjectWriter {
        try alive()
        return MemoryObjectWriter(storage: self, pending: "(content-named)", key: key)
    }

    public func reader(_ key: String) throws -> (any ObjectReader)? {
        try alive()
        let found = state.withLock { s -> [UInt8]? in
            s.keysRead.append(key)
            guard let bytes = s.objects[key]?.bytes else { return nil }
            if let prefix = s.shortReadPrefix, key.hasPrefix(prefix) { return Array(bytes.prefix(bytes.count / 2)) }
            return bytes
        }
        return found.map { MemoryObjectReader(bytes: $0) }
    }

    public func deletePrefix(_ prefix: String) throws {
        try alive()
        state.withLock { s in
            for key in s.objects.keys where key.hasPrefix(prefix) { s.objects.removeValue(forKey: key) }
        }
    }

    public func incompleteWrites() throws -> [IncompleteWrite] {
        try alive()
        return state.withLock { s in
            s.pending.map { IncompleteWrite(name: $0.key, key: $0.value.key, bytes: $0.value.bytes, started: $0.value.started) }
        }.sorted { $0.name < $1.name }
    }

    public func removeIncompleteWrite(_ name: String) throws {
        try alive()
        _ = state.withLock { $0.pending.removeValue(forKey: name) }
    }

    // MARK: Writers in flight

    func begin(_ key: String) -> String {
        state.withLock { s in
            s.serial += 1
            let name = "tmp/write-\(s.serial)"
            s.pending[name] = Pending(key: key, bytes: 0, started: Date())
            return name
        }
    }

    func grew(_ name: String, to bytes: Int64) {
        state.withLock { s in
            if s.crashedAt == nil { s.pending[name]?.bytes = bytes }
        }
    }

    func finish(_ name: String, committing bytes: [UInt8]?, at key: String) {
        state.withLock { s in
            guard s.crashedAt == nil else { return }
            s.pending.removeValue(forKey: name)
            if let bytes { s.objects[key] = (bytes, Date()) }
        }
    }

    // MARK: Lock

    public func acquireLock(_ holder: RepositoryLock.Holder, mode: RepositoryLock.Mode) throws -> any StorageLock {
        try alive()
        return try state.withLock { s -> MemoryLock in
            let dead = s.locks.filter { !$0.value.alive }
            for key in dead.keys { s.locks.removeValue(forKey: key) }
            let live = s.locks.values
            let blocked = mode == .exclusive ? !live.isEmpty : live.contains { $0.mode == .exclusive }
            if blocked {
                throw RepositoryLock.held(location: location, by: live.map(\.holder).sorted { $0.command < $1.command }, wanted: mode)
            }
            s.serial += 1
            var record = holder
            record.mode = mode
            s.locks[s.serial] = LockRecord(holder: record, mode: mode, alive: true)
            return MemoryLock(storage: self, id: s.serial, stale: dead.values.first?.holder, alone: live.isEmpty)
        }
    }

    public func lockHolders() -> [RepositoryLock.Holder] {
        state.withLock { s in s.locks.values.filter(\.alive).map(\.holder) }.sorted { $0.command < $1.command }
    }
}

/// A lock record in a `MemoryStorage`.
final class MemoryLock: StorageLock {
    private let storage: MemoryStorage
    private let id: Int
    let staleHolder: RepositoryLock.Holder?
    let alone: Bool

    init(storage: MemoryStorage, id: Int, stale: RepositoryLock.Holder?, alone: Bool) {
        self.storage = storage
        self.id = id
        self.staleHolder = stale
        self.alone = alone
    }

    func confirm() throws {
        try storage.alive()
        if storage.state.withLock({ $0.lockRefreshStalled }) {
            throw RepositoryLock.lost(location: storage.location, "the lock could not be refreshed (injected)")
        }
    }

    func release() {
        storage.state.withLock { s in
            if s.crashedAt == nil { s.locks.removeValue(forKey: id) }
        }
    }
}

/// Collects an object; nothing is visible until `commit`.
final class MemoryObjectWriter: ObjectWriter {
    private let storage: MemoryStorage
    private let key: (StoredDigest) -> String
    private let name: String
    private var bytes: [UInt8] = []
    private var done = false

    init(storage: MemoryStorage, pending: String, key: @escaping (StoredDigest) -> String) {
        self.storage = storage
        self.key = key
        name = storage.begin(pending)
    }

    func write(_ chunk: UnsafeRawBufferPointer) throws {
        try storage.alive()
        bytes.append(contentsOf: chunk)
        storage.grew(name, to: Int64(bytes.count))
    }

    func commit() throws -> StoredDigest {
        let digest = StoredDigest(sha256: SHA256Hasher.hex(of: bytes), bytes: Int64(bytes.count))
        let target = key(digest)
        do {
            try storage.countWrite(target)
        } catch {
            abort()
            throw error
        }
        storage.reach("object-before-rename")
        try storage.alive()
        storage.finish(name, committing: bytes, at: target)
        done = true
        bytes = []
        return digest
    }

    func abort() {
        guard !done else { return }
        done = true
        bytes = []
        storage.finish(name, committing: nil, at: "")
    }

    deinit { abort() }
}

/// Reads an object held in memory, hashing what it hands out.
final class MemoryObjectReader: ObjectReader {
    private let bytes: [UInt8]
    private var offset = 0
    private let hasher = SHA256Hasher()
    private var final: StoredDigest?

    init(bytes: [UInt8]) { self.bytes = bytes }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - offset)
        if n == 0 {
            if final == nil { final = StoredDigest(sha256: hasher.finalize(), bytes: Int64(offset)) }
            return 0
        }
        bytes.withUnsafeBytes { source in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset..<offset + n]))
            hasher.update(UnsafeRawBufferPointer(rebasing: source[offset..<offset + n]))
        }
        offset += n
        return n
    }

    var digest: StoredDigest { final ?? StoredDigest(sha256: "", bytes: Int64(offset)) }

    func close() {}
}
