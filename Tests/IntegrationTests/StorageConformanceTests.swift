import Foundation
import Testing
import LifeboatCore

/// One contract, two backends: every test runs against a local directory and against a real S3
/// engine (Ceph RGW). What the repository relies on: whole-or-nothing writes, create-only
/// commits, listings of committed objects only, streaming reads that reproduce the writer's
/// digest, and a lock that names its holder.
@Suite(.serialized) struct StorageConformanceTests {
    enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case disk, s3
        var testDescription: String { rawValue }
    }

    final class Fixture {
        let storage: any RepositoryStorage
        let cleanup: () -> Void
        init(_ backend: Backend) throws {
            switch backend {
            case .disk:
                let root = NSTemporaryDirectory() + "lifeboat-conf-\(UUID().uuidString.prefix(8))"
                try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
                storage = DiskStorage(root: root)
                cleanup = { try? FileManager.default.removeItem(atPath: root) }
            case .s3:
                let location = RGWServer.shared.newRepository("conf")
                _ = try Repository.create(at: location, settings: RGWServer.shared.settings())
                storage = try RGWServer.shared.storage(location)
                cleanup = {}
            }
        }
        deinit { cleanup() }
    }

    static func bytes(_ count: Int, seed: UInt8 = 7) -> [UInt8] {
        var state = UInt64(seed) &+ 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }

    @Test(arguments: Backend.allCases)
    func putGetCreateDelete(backend: Backend) throws {
        let f = try Fixture(backend)
        let s = f.storage
        #expect(try s.get("snapshots/a.json") == nil)
        try s.put("snapshots/a.json", Array("one".utf8))
        #expect(try s.get("snapshots/a.json") == Array("one".utf8))
        try s.put("snapshots/a.json", Array("two".utf8))
        #expect(try s.get("snapshots/a.json") == Array("two".utf8))
        #expect(try s.create("snapshots/a.json", Array("three".utf8)) == false)
        #expect(try s.get("snapshots/a.json") == Array("two".utf8), "create never overwrites")
        #expect(try s.create("snapshots/b.json", Array("new".utf8)) == true)
        #expect(try s.size("snapshots/b.json") == 3)
        try s.delete("snapshots/a.json")
        try s.delete("snapshots/a.json")  // absent: no error
        #expect(try s.get("snapshots/a.json") == nil)
        #expect(try s.size("snapshots/a.json") == nil)
    }

    @Test(arguments: Backend.allCases)
    func aStreamedObjectAppearsOnlyAtCommitAndReadsBackWithTheSameDigest(backend: Backend) throws {
        let f = try Fixture(backend)
        let s = f.storage
        let payload = Self.bytes(13 << 20 + 12345)  // several 5 MiB parts on S3
        let writer = try s.writer("data/0123/cfg.tar.zst")
        for start in stride(from: 0, to: payload.count, by: 1 << 20) {
            try writer.write(Array(payload[start..<min(start + (1 << 20), payload.count)]))
            #expect(try s.list("data/").isEmpty, "nothing is listed before commit")
        }
        let digest = try writer.commit()
        #expect(digest == StoredDigest(sha256: SHA256Hasher.hex(of: payload), bytes: Int64(payload.count)))
        #expect(try s.list("data/").map(\.key) == ["data/0123/cfg.tar.zst"])
        #expect(try s.list("data/").first?.size == Int64(payload.count))
        let reader = try #require(try s.reader("data/0123/cfg.tar.zst"))
        var back: [UInt8] = []
        let read = try reader.forEachChunk { back.append(contentsOf: $0) }
        reader.close()
        #expect(back == payload)
        #expect(read == digest)
        #expect(try s.reader("data/0123/missing") == nil)
        #expect(try s.incompleteWrites().isEmpty)
    }

    @Test(arguments: Backend.allCases)
    func anAbortedWriteLeavesNothing(backend: Backend) throws {
        let f = try Fixture(backend)
        let s = f.storage
        let writer = try s.writer("data/0456/cfg.tar.zst")
        try writer.write(Self.bytes(11 << 20))
        writer.abort()
        writer.abort()
        #expect(try s.list("data/").isEmpty)
        #expect(try s.incompleteWrites().isEmpty)
        #expect(try s.get("data/0456/cfg.tar.zst") == nil)
    }

    /// Prune deletes in batches (S3: multi-object DELETE of up to 1,000 keys per request): more
    /// than one batch, keys that need escaping, and keys already gone.
    @Test(arguments: Backend.allCases)
    func aBatchDeleteRemovesExactlyTheKeysGiven(backend: Backend) throws {
        let f = try Fixture(backend)
        let s = f.storage
        let keys = (0..<1_010).map { "data/\(String(format: "%04d", $0))&<x>" }
        for key in keys { try s.put(key, [1]) }
        try s.put("data/keep", [2])
        try s.delete(keys + ["data/never-written-1", "data/never-written-2"])
        #expect(try s.list("data/").map(\.key) == ["data/keep"])
        try s.delete([])
        try s.deletePrefix("data/")
        #expect(try s.list("data/").isEmpty)
    }

    /// Packs are written this way: streamed, then named by their hash at commit.
    @Test(arguments: Backend.allCases)
    func aContentNamedObjectIsStoredUnderItsDigestAtCommitOnly(backend: Backend) throws {
        let f = try Fixture(backend)
        let s = f.storage
        let payload = Self.bytes(3 << 20 + 77)
        let writer = try s.contentNamedWriter { "packs/\($0.sha256.prefix(2))/\($0.sha256)" }
        try writer.write(Array(payload.prefix(1 << 20)))
        #expect(try s.list("packs/").isEmpty, "nothing is listed before commit")
        try writer.write(Array(payload.dropFirst(1 << 20)))
        let digest = try writer.commit()
        let name = SHA256Hasher.hex(of: payload)
        #expect(digest == StoredDigest(sha256: name, bytes: Int64(payload.count)))
        #expect(try s.list("packs/").map(\.key) == ["packs/\(name.prefix(2))/\(name)"])
        #expect(try s.get("packs/\(name.prefix(2))/\(name)") == payload)
        #expect(try s.incompleteWrites().isEmpty)
        let aborted = try s.contentNamedWriter { "packs/\($0.sha256.prefix(2))/\($0.sha256)" }
        try aborted.write(Self.bytes(1 << 20, seed: 9))
        aborted.abort()
        #expect(try s.list("packs/").count == 1)
        #expect(try s.incompleteWrites().isEmpty)
    }

    @Test(arguments: Backend.allCases)
    func listingsAndChildren(backend: Backend) throws {
        let f = try Fixture(backend)
        let s = f.storage
        for key in ["data/b/2", "data/a/1", "data/a/0", "wal/00000001/x", "snapshots/z.json"] { try s.put(key, [1, 2]) }
        #expect(try s.list("data/").map(\.key) == ["data/a/0", "data/a/1", "data/b/2"])
        #expect(try s.list("data/a/").map(\.key) == ["data/a/0", "data/a/1"])
        #expect(try s.children("data/") == ["a", "b"])
        #expect(try s.list("wal/00000001/x").map(\.key) == ["wal/00000001/x"])
        try s.deletePrefix("data/a/")
        #expect(try s.list("data/").map(\.key) == ["data/b/2"])
        #expect(try s.children("data/") == ["b"])
    }

    @Test(arguments: Backend.allCases)
    func sharedHoldersCoexistAnExclusiveOneExcludesAllAndBothNameTheHolders(backend: Backend) throws {
        let f = try Fixture(backend)
        let s = f.storage
        func holder(_ command: String) -> RepositoryLock.Holder {
            RepositoryLock.Holder(pid: getpid(), host: ProcessInfo.processInfo.hostName, time: "now", command: command)
        }
        func refusal(_ mode: RepositoryLock.Mode, naming: [String]) -> Bool {
            do {
                _ = try s.acquireLock(holder("refused"), mode: mode).release()
                return false
            } catch let error as LifeboatError {
                return error.code == .locked && naming.allSatisfy { error.message.contains($0) }
            } catch { return false }
        }
        let one = try s.acquireLock(holder("backup-one"), mode: .shared)
        #expect(one.alone)
        let two = try s.acquireLock(holder("backup-two"), mode: .shared)
        #expect(!two.alone)
        #expect(Set(s.lockHolders().map(\.command)) == ["backup-one", "backup-two"])
        #expect(refusal(.exclusive, naming: ["backup-one", "backup-two"]))
        one.release()
        #expect(refusal(.exclusive, naming: ["backup-two"]))
        two.release()
        #expect(s.lockHolders().isEmpty)

        let prune = try s.acquireLock(holder("prune"), mode: .exclusive)
        #expect(prune.alone)
        #expect(s.lockHolders().map(\.command) == ["prune"])
        #expect(refusal(.shared, naming: ["prune"]))
        #expect(refusal(.exclusive, naming: ["prune"]))
        try prune.confirm()
        prune.release()
        #expect(s.lockHolders().isEmpty)
        let again = try s.acquireLock(holder("backup-three"), mode: .shared)
        #expect(again.alone)
        again.release()
    }

}
