import Foundation
import LifeboatCore
import Synchronization

/// The contract every `RepositoryStorage` keeps, as checks that run on any backend: memory and
/// disk in the unit tests, disk and a real S3 engine (Ceph RGW) in the integration tests. What
/// the repository relies on: whole-or-nothing writes, create-only commits, listings of
/// committed objects only, streaming reads that reproduce the writer's digest, batch deletes,
/// and a lock that names its holders. Each check throws `StorageConformance.Violation` saying
/// what broke.
public enum StorageConformance {
    public struct Violation: Error, CustomStringConvertible {
        public let description: String
    }

    /// A check: its name (for test arguments) and what it runs against fresh storage.
    public struct Check: Sendable, CustomStringConvertible {
        public let name: String
        public let run: @Sendable (any RepositoryStorage) throws -> Void
        public var description: String { name }
    }

    public static let checks: [Check] = [
        Check(name: "put, get, create, delete", run: putGetCreateDelete),
        Check(name: "a streamed object appears at commit only", run: streamedObjectAppearsAtCommit),
        Check(name: "an aborted write leaves nothing", run: abortedWriteLeavesNothing),
        Check(name: "a batch delete removes exactly the keys given", run: batchDelete),
        Check(name: "a content-named object appears under its digest", run: contentNamedObject),
        Check(name: "listings and children", run: listingsAndChildren),
        Check(name: "lock modes and holders", run: lockModesAndHolders),
        Check(name: "racing creates: one wins", run: racingCreates),
        Check(name: "racing exclusive lockers: never two", run: racingExclusiveLockers),
    ]

    static func expect(_ condition: Bool, _ what: @autoclosure () -> String) throws {
        if !condition { throw Violation(description: what()) }
    }

    /// Deterministic bytes that do not compress.
    public static func bytes(_ count: Int, seed: UInt8 = 7) -> [UInt8] {
        var state = UInt64(seed) &+ 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }

    static func putGetCreateDelete(_ s: any RepositoryStorage) throws {
        try expect(try s.get("snapshots/a.json") == nil, "an absent key reads as nil")
        try s.put("snapshots/a.json", Array("one".utf8))
        try expect(try s.get("snapshots/a.json") == Array("one".utf8), "put then get")
        try s.put("snapshots/a.json", Array("two".utf8))
        try expect(try s.get("snapshots/a.json") == Array("two".utf8), "put replaces")
        try expect(try s.create("snapshots/a.json", Array("three".utf8)) == false, "create of an existing key is refused")
        try expect(try s.get("snapshots/a.json") == Array("two".utf8), "create never overwrites")
        try expect(try s.create("snapshots/b.json", Array("new".utf8)) == true, "create of a new key")
        try expect(try s.size("snapshots/b.json") == 3, "size")
        try s.delete("snapshots/a.json")
        try s.delete("snapshots/a.json")  // absent: no error
        try expect(try s.get("snapshots/a.json") == nil, "a deleted key reads as nil")
        try expect(try s.size("snapshots/a.json") == nil, "a deleted key has no size")
    }

    static func streamedObjectAppearsAtCommit(_ s: any RepositoryStorage) throws {
        let payload = bytes(13 << 20 + 12345)  // several 5 MiB parts on S3
        let writer = try s.writer("data/0123/cfg.tar.zst")
        for start in stride(from: 0, to: payload.count, by: 1 << 20) {
            try writer.write(Array(payload[start..<min(start + (1 << 20), payload.count)]))
            try expect(try s.list("data/").isEmpty, "nothing is listed before commit")
        }
        let digest = try writer.commit()
        try expect(
            digest == StoredDigest(sha256: SHA256Hasher.hex(of: payload), bytes: Int64(payload.count)),
            "commit returns the digest of what was written")
        try expect(try s.list("data/").map(\.key) == ["data/0123/cfg.tar.zst"], "listed after commit")
        try expect(try s.list("data/").first?.size == Int64(payload.count), "listed with its size")
        guard let reader = try s.reader("data/0123/cfg.tar.zst") else { throw Violation(description: "no reader after commit") }
        var back: [UInt8] = []
        let read = try reader.forEachChunk { back.append(contentsOf: $0) }
        reader.close()
        try expect(back == payload, "reads back what was written")
        try expect(read == digest, "the reader's digest is the writer's")
        try expect(try s.reader("data/0123/missing") == nil, "no reader for an absent key")
        try expect(try s.incompleteWrites().isEmpty, "a committed write is not incomplete")
    }

    static func abortedWriteLeavesNothing(_ s: any RepositoryStorage) throws {
        let writer = try s.writer("data/0456/cfg.tar.zst")
        try writer.write(bytes(11 << 20))
        writer.abort()
        writer.abort()
        try expect(try s.list("data/").isEmpty, "an aborted write is not listed")
        try expect(try s.incompleteWrites().isEmpty, "an aborted write leaves no incomplete write")
        try expect(try s.get("data/0456/cfg.tar.zst") == nil, "an aborted write cannot be read")
    }

    /// Prune deletes in batches (S3: multi-object DELETE of up to 1,000 keys per request): more
    /// than one batch, keys that need escaping, and keys already gone.
    static func batchDelete(_ s: any RepositoryStorage) throws {
        let keys = (0..<1_010).map { "data/\(String(format: "%04d", $0))&<x>" }
        for key in keys { try s.put(key, [1]) }
        try s.put("data/keep", [2])
        try s.delete(keys + ["data/never-written-1", "data/never-written-2"])
        try expect(try s.list("data/").map(\.key) == ["data/keep"], "only the key not named is left")
        try s.delete([])
        try s.deletePrefix("data/")
        try expect(try s.list("data/").isEmpty, "deletePrefix empties the prefix")
    }

    /// Packs are written this way: streamed, then named by their hash at commit.
    static func contentNamedObject(_ s: any RepositoryStorage) throws {
        let payload = bytes(3 << 20 + 77)
        let writer = try s.contentNamedWriter { "packs/\($0.sha256.prefix(2))/\($0.sha256)" }
        try writer.write(Array(payload.prefix(1 << 20)))
        try expect(try s.list("packs/").isEmpty, "nothing is listed before commit")
        try writer.write(Array(payload.dropFirst(1 << 20)))
        let digest = try writer.commit()
        let name = SHA256Hasher.hex(of: payload)
        try expect(digest == StoredDigest(sha256: name, bytes: Int64(payload.count)), "commit returns the digest")
        try expect(try s.list("packs/").map(\.key) == ["packs/\(name.prefix(2))/\(name)"], "stored under its digest")
        try expect(try s.get("packs/\(name.prefix(2))/\(name)") == payload, "reads back")
        try expect(try s.incompleteWrites().isEmpty, "a committed write is not incomplete")
        let aborted = try s.contentNamedWriter { "packs/\($0.sha256.prefix(2))/\($0.sha256)" }
        try aborted.write(bytes(1 << 20, seed: 9))
        aborted.abort()
        try expect(try s.list("packs/").count == 1, "an aborted content-named write is not listed")
        try expect(try s.incompleteWrites().isEmpty, "an aborted content-named write leaves nothing")
    }

    static func listingsAndChildren(_ s: any RepositoryStorage) throws {
        for key in ["data/b/2", "data/a/1", "data/a/0", "wal/00000001/x", "snapshots/z.json"] { try s.put(key, [1, 2]) }
        try expect(try s.list("data/").map(\.key) == ["data/a/0", "data/a/1", "data/b/2"], "list is sorted and recursive")
        try expect(try s.list("data/a/").map(\.key) == ["data/a/0", "data/a/1"], "list of a sub-prefix")
        try expect(try s.children("data/") == ["a", "b"], "children one level down")
        try expect(try s.list("wal/00000001/x").map(\.key) == ["wal/00000001/x"], "list of a whole key")
        try s.deletePrefix("data/a/")
        try expect(try s.list("data/").map(\.key) == ["data/b/2"], "deletePrefix of a sub-prefix")
        try expect(try s.children("data/") == ["b"], "children after deletePrefix")
    }

    static func holder(_ command: String) -> RepositoryLock.Holder {
        RepositoryLock.Holder(pid: getpid(), host: ProcessInfo.processInfo.hostName, time: "now", command: command)
    }

    static func lockModesAndHolders(_ s: any RepositoryStorage) throws {
        func refusal(_ mode: RepositoryLock.Mode, naming: [String]) -> Bool {
            do {
                try s.acquireLock(holder("refused"), mode: mode).release()
                return false
            } catch let error as LifeboatError {
                return error.code == .locked && naming.allSatisfy { error.message.contains($0) }
            } catch { return false }
        }
        let one = try s.acquireLock(holder("backup-one"), mode: .shared)
        try expect(one.alone, "the first holder is alone")
        let two = try s.acquireLock(holder("backup-two"), mode: .shared)
        try expect(!two.alone, "a second shared holder is not alone")
        try expect(Set(s.lockHolders().map(\.command)) == ["backup-one", "backup-two"], "both shared holders are named")
        try expect(refusal(.exclusive, naming: ["backup-one", "backup-two"]), "an exclusive taker is refused, naming both")
        one.release()
        try expect(refusal(.exclusive, naming: ["backup-two"]), "an exclusive taker is refused, naming the one left")
        two.release()
        try expect(s.lockHolders().isEmpty, "released holders are gone")

        let prune = try s.acquireLock(holder("prune"), mode: .exclusive)
        try expect(prune.alone, "an exclusive holder is alone")
        try expect(s.lockHolders().map(\.command) == ["prune"], "the exclusive holder is named")
        try expect(refusal(.shared, naming: ["prune"]), "a shared taker is refused by an exclusive holder")
        try expect(refusal(.exclusive, naming: ["prune"]), "an exclusive taker is refused by an exclusive holder")
        try prune.confirm()
        prune.release()
        try expect(s.lockHolders().isEmpty, "the exclusive holder is gone")
        let again = try s.acquireLock(holder("backup-three"), mode: .shared)
        try expect(again.alone, "a holder after all released is alone")
        again.release()
    }

    /// Two writers commit the same manifest name at once: exactly one `create` wins, and the
    /// object holds the winner's bytes.
    static func racingCreates(_ s: any RepositoryStorage) throws {
        let racers = 6
        for round in 0..<3 {
            let key = "snapshots/race-\(round).json"
            let won = Mutex<[Int]>([])
            let failed = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: racers) { racer in
                do {
                    if try s.create(key, Array("racer \(racer)".utf8)) { won.withLock { $0.append(racer) } }
                } catch {
                    failed.withLock { $0.append("\(error)") }
                }
            }
            let winners = won.withLock { $0 }
            try expect(failed.withLock { $0 }.isEmpty, "no racing create fails: \(failed.withLock { $0 })")
            try expect(winners.count == 1, "exactly one of \(racers) racing creates wins (round \(round): \(winners))")
            try expect(try s.get(key) == Array("racer \(winners[0])".utf8), "the object holds the winner's bytes")
        }
    }

    /// Exclusive lockers racing: at no moment do two hold the lock, and once all are done the
    /// lock is free.
    static func racingExclusiveLockers(_ s: any RepositoryStorage) throws {
        let inside = Mutex((now: 0, most: 0, took: 0))
        let unexpected = Mutex<[String]>([])
        for _ in 0..<3 {
            DispatchQueue.concurrentPerform(iterations: 4) { racer in
                do {
                    let lock = try s.acquireLock(holder("racer-\(racer)"), mode: .exclusive)
                    inside.withLock {
                        $0.now += 1
                        $0.most = max($0.most, $0.now)
                        $0.took += 1
                    }
                    usleep(30_000)
                    inside.withLock { $0.now -= 1 }
                    lock.release()
                } catch let error as LifeboatError where error.code == .locked {
                    // lost the race: fine
                } catch {
                    unexpected.withLock { $0.append("\(error)") }
                }
            }
        }
        let seen = inside.withLock { $0 }
        try expect(unexpected.withLock { $0 }.isEmpty, "racing lockers fail only with `locked`: \(unexpected.withLock { $0 })")
        try expect(seen.most <= 1, "two racing exclusive lockers held the lock at once")
        try expect(s.lockHolders().isEmpty, "every racer released the lock")
        let after = try s.acquireLock(holder("after"), mode: .exclusive)
        after.release()
    }
}
