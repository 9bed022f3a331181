import Foundation
import LifeboatTestSupport
import Testing

@testable import LifeboatCore

/// backup → verify → restore → forget → prune in process, on the in-memory storage and on a
/// local directory, in both repository formats; and the crash points and faults of the
/// integration suite (`CrashSafetyTests`, `ForgetPruneCrashTests`, `Format2Tests`) replayed on
/// the in-memory storage, in seconds. A crash freezes the storage where `kill -9` would leave
/// it; the checks are those of the integration tests: no snapshot that looks complete,
/// `verify --deep` clean, the next backup succeeds, and prune finishes the job.
@Suite struct InProcessRepositoryTests {
    enum Backend: String, CaseIterable, Sendable { case memory, disk }

    /// A repository, the tree it backs up, and a place to restore to.
    final class Bench: @unchecked Sendable {
        let scratch = ScratchDirectory("inproc")
        var repository: Repository
        var source: String { scratch.path + "/source" }

        init(_ backend: Backend, format: Int) throws {
            let storage: any RepositoryStorage =
                switch backend {
                case .memory: MemoryStorage()
                case .disk: DiskStorage(root: scratch.path + "/repo")
                }
            repository = try Repository.create(in: storage, format: format)
            try writeTree(generation: 0)
        }

        /// Goes on with the storage the next process finds after the crash.
        func reopenAfterCrash() throws {
            repository = try Repository(opening: memory.afterCrash())
        }

        var memory: MemoryStorage { repository.storage as! MemoryStorage }

        /// Three files, one of them large enough for several chunks; `generation` changes two.
        func writeTree(generation: Int) throws {
            scratch.write("source/etc/app.yaml", "generation: \(generation)\n")
            scratch.write("source/notes/readme.txt", String(repeating: "lifeboat ", count: 2000))
            let big = StorageConformance.bytes(3 << 20, seed: UInt8(3 + generation))
            try Data(big).write(to: URL(fileURLWithPath: source + "/big.bin"))
        }

        func backup(name: String? = nil) async throws -> Manifest {
            var runner = BackupRunner(repository: repository, progress: ProgressLine(enabled: false))
            runner.name = name
            return try await runner.run(
                sources: [FilesAdapter(name: "cfg", path: source)], schedule: "manual",
                compression: .zstd(level: 3), policyPath: nil, command: "test backup"
            ).manifest
        }

        func verify() throws -> VerifyReport {
            try Verifier(repository: repository, progress: ProgressLine(enabled: false)).run(selectors: [], deep: true)
        }

        func restore(_ selector: String, to target: String) async throws {
            let (plan, manifest) = try RestorePlan.make(
                repository: repository, selector: SnapshotSelector(selector),
                source: "cfg", target: target)
            _ = try await Restorer(repository: repository).run(
                plan: plan, manifest: manifest,
                to: .directory(target), options: RestoreOptions())
        }

        func snapshots() -> [Manifest] { repository.loadSnapshots().snapshots }

        func forget(_ ids: [String]) throws {
            try RepositoryLock.with(repository, .shared, command: "test forget") { _ in try repository.forget(ids: ids) }
        }

        @discardableResult
        func prune() throws -> Pruner.Report {
            try RepositoryLock.with(repository, .exclusive, command: "test prune") { _ in
                try Pruner(repository: repository).run(dryRun: false)
            }
        }
    }

    /// Relative path → content, for every regular file under `root`.
    static func tree(_ root: String) throws -> [String: Data] {
        var found: [String: Data] = [:]
        let base = URL(fileURLWithPath: root).standardizedFileURL.path
        guard let walk = FileManager.default.enumerator(atPath: base) else { return [:] }
        for case let relative as String in walk {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: base + "/" + relative, isDirectory: &isDirectory), !isDirectory.boolValue {
                found[relative] = try Data(contentsOf: URL(fileURLWithPath: base + "/" + relative))
            }
        }
        return found
    }

    static let formats = [1, 2]
    static let backendsAndFormats: [(Backend, Int)] = Backend.allCases.flatMap { b in formats.map { (b, $0) } }

    @Test(arguments: backendsAndFormats)
    func backupVerifyRestoreForgetPrune(backend: Backend, format: Int) async throws {
        let bench = try Bench(backend, format: format)
        let first = try await bench.backup(name: "first")
        try bench.writeTree(generation: 1)
        let second = try await bench.backup()
        #expect(bench.snapshots().count == 2)
        let report = try bench.verify()
        #expect(report.ok && report.problems.isEmpty, "\(report.problems)")

        try await bench.restore("first", to: bench.scratch.path + "/first")
        let restored = try Self.tree(bench.scratch.path + "/first")
        #expect(String(decoding: restored["etc/app.yaml"] ?? Data(), as: UTF8.self) == "generation: 0\n")
        try await bench.restore(second.id, to: bench.scratch.path + "/second")
        #expect(try Self.tree(bench.scratch.path + "/second") == Self.tree(bench.source))

        try bench.forget([first.id])
        let pruned = try bench.prune()
        #expect(!pruned.removed.isEmpty, "forgetting a snapshot leaves something to prune")
        #expect(bench.snapshots().map(\.id) == [second.id])
        let after = try bench.verify()
        #expect(after.ok && after.garbage.isEmpty, "\(after.problems) \(after.garbage)")
        try await bench.restore("latest", to: bench.scratch.path + "/latest")
        #expect(try Self.tree(bench.scratch.path + "/latest") == Self.tree(bench.source))
        #expect(try bench.prune().removed.isEmpty, "a second prune has nothing to do")
    }

    /// What a repository must look like after a crash: `expected` snapshots, deep-verifies clean,
    /// the next backup succeeds, and prune leaves no garbage.
    static func assertRecovers(_ bench: Bench, expected: Int, at point: String) async throws {
        try bench.reopenAfterCrash()
        let recovered = bench
        #expect(recovered.snapshots().count == expected, "after a crash at \(point)")
        let report = try recovered.verify()
        #expect(report.ok && report.problems.isEmpty, "after a crash at \(point): \(report.problems)")
        _ = try await recovered.backup()
        #expect(recovered.snapshots().count == expected + 1, "the next backup after a crash at \(point)")
        try recovered.prune()
        let clean = try recovered.verify()
        #expect(clean.ok && clean.garbage.isEmpty, "after a crash at \(point) and a prune: \(clean.garbage)")
        #expect(try recovered.memory.incompleteWrites().isEmpty, "prune removed the crash's incomplete writes")
        try await recovered.restore("latest", to: bench.scratch.path + "/after-\(point)")
        #expect(try Self.tree(bench.scratch.path + "/after-\(point)") == Self.tree(bench.source))
    }

    static let backupPoints: [(String, Int, Int)] = [
        ("after-capture", 1, 0), ("before-manifest", 1, 0), ("atomic-write-before-rename", 1, 0),
        ("object-before-rename", 1, 0), ("after-manifest", 1, 1),
        ("after-capture", 2, 0), ("before-manifest", 2, 0), ("atomic-write-before-rename", 2, 0),
        ("object-before-rename", 2, 0), ("after-manifest", 2, 1),
    ]

    @Test(arguments: backupPoints)
    func aCrashAtEachBackupStepLeavesNoHalfSnapshot(point: String, format: Int, expected: Int) async throws {
        let bench = try Bench(.memory, format: format)
        let memory = bench.memory
        let crashed = await memory.crash(at: point) { try await bench.backup() }
        #expect(crashed, "crash point \(point) was never reached: \(memory.pointsReached)")
        try await Self.assertRecovers(bench, expected: expected, at: point)
    }

    static let retentionPoints: [(String, Int)] = [
        ("forget-midway", 1), ("prune-midway", 1), ("forget-midway", 2),
        ("prune-index-written", 2), ("prune-index-replaced", 2), ("prune-pack-deleted", 2), ("prune-repack-written", 2),
    ]

    /// forget and prune: a crash at each step leaves a repository that deep-verifies clean, and
    /// the next forget and prune finish the job.
    @Test(arguments: retentionPoints)
    func aCrashDuringForgetOrPruneLeavesAConsistentRepository(point: String, format: Int) async throws {
        let bench = try Bench(.memory, format: format)
        var ids: [String] = []
        for generation in 1...3 {
            ids.append(try await bench.backup().id)
            try bench.writeTree(generation: generation)
        }
        let kept = try await bench.backup()
        let memory = bench.memory
        let crashed = memory.crash(at: point) {
            try bench.forget(ids)
            try bench.prune()
        }
        #expect(crashed, "crash point \(point) was never reached: \(memory.pointsReached)")
        try bench.reopenAfterCrash()
        let recovered = bench
        let report = try recovered.verify()
        #expect(report.ok && report.problems.isEmpty, "after a crash at \(point): \(report.problems)")
        try recovered.forget(recovered.snapshots().map(\.id).filter { $0 != kept.id })
        try recovered.prune()
        #expect(recovered.snapshots().map(\.id) == [kept.id])
        let clean = try recovered.verify()
        #expect(clean.ok && clean.garbage.isEmpty, "after a crash at \(point) and a prune: \(clean.problems) \(clean.garbage)")
        try await recovered.restore("latest", to: bench.scratch.path + "/after-\(point)")
        #expect(try Self.tree(bench.scratch.path + "/after-\(point)") == Self.tree(bench.source))
    }

    /// Every object write of a backup failing in turn: the backup fails, no snapshot appears,
    /// and the next backup succeeds.
    @Test(arguments: [1, 2])
    func aFailedWriteAtAnyStepLeavesNoSnapshot(format: Int) async throws {
        let bench = try Bench(.memory, format: format)
        var n = 1
        var succeeded = false
        while !succeeded && n < 40 {
            bench.memory.failObjectWrite(number: n)
            do {
                _ = try await bench.backup()
                succeeded = true
            } catch let error as LifeboatError {
                #expect(error.message.contains("injected failure"), "\(error)")
                #expect(bench.snapshots().isEmpty, "a backup whose write \(n) failed left a snapshot")
                let report = try bench.verify()
                #expect(report.ok, "after failed write \(n): \(report.problems)")
            }
            n += 1
        }
        #expect(succeeded && n > 3, "the backup has several writes to fail, and one without a fault succeeds")
        #expect(bench.snapshots().count == 1)
    }

    /// A truncated read (a cut connection read to its end, a truncated file) is an integrity
    /// failure for verify and restore, never a silently short restore.
    @Test(arguments: [1, 2])
    func aShortReadIsAnIntegrityFailure(format: Int) async throws {
        let bench = try Bench(.memory, format: format)
        _ = try await bench.backup()
        bench.memory.shortenReads(under: format == 2 ? "packs/" : "data/")
        let report = try bench.verify()
        #expect(!report.ok && !report.problems.isEmpty)
        let target = bench.scratch.path + "/short"
        let failure = await #expect(throws: LifeboatError.self) { try await bench.restore("latest", to: target) }
        #expect(failure?.code == .integrity, "\(String(describing: failure))")
        #expect(try Self.tree(target).isEmpty, "a failed restore leaves no file in its target")
    }

    /// A lock that can no longer be refreshed commits nothing.
    @Test func aLostLockCommitsNothing() async throws {
        let bench = try Bench(.memory, format: 2)
        bench.memory.stallLockRefresh()
        let failure = await #expect(throws: LifeboatError.self) { try await bench.backup() }
        #expect(failure?.message.contains("lock lost") == true, "\(String(describing: failure))")
        #expect(bench.snapshots().isEmpty)
    }

    /// `wal push` (PostgreSQL's archive_command) killed before its rename: nothing is archived,
    /// the leftover is an incomplete write that verify does not call damage (and prune leaves
    /// alone for an hour: a push in flight takes no lock), and the retried push stores the file.
    @Test func aCrashInAWALPushArchivesNothingAndTheRetryStoresTheFile() throws {
        let bench = try Bench(.memory, format: 2)
        let history = bench.scratch.path + "/00000002.history"  // no segment header to check
        try Data("1\t0/3000000\tno recovery target specified\n".utf8).write(to: URL(fileURLWithPath: history))
        let memory = bench.memory
        let crashed = memory.crash(at: "wal-push-before-rename") { try WALArchive(repository: bench.repository).push(path: history) }
        #expect(crashed, "crash point never reached: \(memory.pointsReached)")
        try bench.reopenAfterCrash()
        #expect(try WALArchive(repository: bench.repository).all().isEmpty, "a killed push archived something")
        #expect(try bench.memory.incompleteWrites().contains { $0.key.hasPrefix("wal/") })
        let report = try bench.verify()
        #expect(report.ok && report.problems.isEmpty, "\(report.problems)")
        let retried = try WALArchive(repository: bench.repository).push(path: history)
        #expect(retried.outcome == .stored)
        #expect(try WALArchive(repository: bench.repository).all().map(\.name) == ["00000002.history"])
    }
}
