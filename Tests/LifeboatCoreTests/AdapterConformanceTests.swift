import Foundation
import LifeboatTestSupport
import Testing

@testable import LifeboatCore

/// The `SourceAdapter` contract, held against every adapter this build registers
/// (`SourceAdapters.all`), in process:
///
/// - configure refuses an unknown key, at its line and column, listing the keys it takes, and
///   it takes every key it declares (no declared key is refused as unknown);
/// - a capture that fails leaves no snapshot and nothing that verify calls damage;
/// - a restore refuses a non-empty target unless forced, and a forced one keeps the old content;
/// - `verify --deep` finds a damaged entry.
///
/// The last three need a store; here they run on the adapters that need no server (`files`,
/// `command`), on the in-memory storage. The server adapters are held to the same properties
/// against real servers in the integration suite (`RedisTests`, `PostgresLogicalTests`,
/// `ChromaTests`, `CorruptionTests`, `HostileWorldTests`), and Qdrant against its documented
/// contract (`QdrantContractTests`).
@Suite struct AdapterConformanceTests {
    static let types = SourceAdapters.all.map { $0.type }

    @Test(arguments: types)
    func configureRefusesAnUnknownKeyAtItsLocationListingTheKeys(type: String) throws {
        let adapter = try #require(SourceAdapters.named(type))
        let yaml = "sources:\n  s:\n    type: \(type)\n    no_such_key: 1\n"
        do {
            _ = try PolicyLoader.parse(yaml, file: "/p/policy.yaml")
            Issue.record("an unknown key was accepted by \(type)")
        } catch let error as LifeboatError {
            #expect(error.code == .invalidInput)
            #expect(error.location?.description == "/p/policy.yaml:4:5", "\(error)")
            #expect(error.message.contains("no_such_key"))
            for key in adapter.settingKeys { #expect(error.fix?.contains(key) == true, "the fix lists \(key): \(error)") }
        }
    }

    /// Each declared key is taken: configure may refuse its value (here a placeholder) or ask for
    /// another key, but never calls it unknown, and always says where.
    @Test(arguments: types)
    func configureTakesEveryKeyItDeclares(type: String) throws {
        let adapter = try #require(SourceAdapters.named(type))
        for key in adapter.settingKeys {
            let yaml = "sources:\n  s:\n    type: \(type)\n    \(key): placeholder\n"
            do {
                _ = try PolicyLoader.parse(yaml, file: "/p/policy.yaml")
            } catch let error as LifeboatError {
                #expect(!error.message.contains("unknown key"), "\(type) declares \(key) but refuses it: \(error)")
                #expect(error.location != nil, "\(type).\(key): an error without a location: \(error)")
            }
        }
    }

    /// Adapters that need no server, configured from a policy as a user writes it.
    enum Local: String, CaseIterable, Sendable {
        case files, command

        func policy(source: String, scratch: String) -> String {
            switch self {
            case .files:
                "sources:\n  s: {type: files, path: \(source)}\n"
            case .command:
                "sources:\n  s:\n    type: command\n    capture: [tar, -C, \(source), -cf, -, .]\n"
                    + "    restore: [sh, -c, 'mkdir -p \(scratch)/command-out && tar -C \(scratch)/command-out -xf -']\n"
            }
        }
    }

    func adapter(_ local: Local, source: String, scratch: String) throws -> any SourceAdapter {
        try PolicyLoader.parse(local.policy(source: source, scratch: scratch), file: scratch + "/policy.yaml").sources[0]
    }

    func backup(_ adapter: any SourceAdapter, into repository: Repository) async throws -> Manifest {
        try await BackupRunner(repository: repository, progress: ProgressLine(enabled: false))
            .run(sources: [adapter], schedule: "manual", compression: .zstd(level: 1), policyPath: nil, command: "test").manifest
    }

    @Test(arguments: Local.allCases)
    func aFailedCaptureLeavesNoSnapshotAndNoDamage(local: Local) async throws {
        let scratch = ScratchDirectory("adapter")
        let repository = try Repository.create(in: MemoryStorage(), format: 2)
        let missing = try adapter(local, source: scratch.path + "/does-not-exist", scratch: scratch.path)
        await #expect(throws: LifeboatError.self) { try await backup(missing, into: repository) }
        #expect(repository.loadSnapshots().snapshots.isEmpty)
        let report = try Verifier(repository: repository, progress: ProgressLine(enabled: false)).run(selectors: [], deep: true)
        #expect(report.ok && report.problems.isEmpty, "\(report.problems)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/does-not-exist"), "the capture created its source")
    }

    /// A directory restore (files) refuses a non-empty target without force, and with force
    /// moves the old content aside instead of deleting it.
    @Test func aRestoreRefusesANonEmptyTargetUnlessForcedAndKeepsTheOldContent() async throws {
        let scratch = ScratchDirectory("adapter")
        scratch.write("source/app.yaml", "new\n")
        scratch.write("target/app.yaml", "old\n")
        let repository = try Repository.create(in: MemoryStorage(), format: 2)
        let captured = try await backup(try adapter(.files, source: scratch.path + "/source", scratch: scratch.path), into: repository)
        let target = scratch.path + "/target"
        let (plan, manifest) = try RestorePlan.make(repository: repository, selector: SnapshotSelector(captured.id), source: "s", target: target)
        let refusal = await #expect(throws: LifeboatError.self) {
            _ = try await Restorer(repository: repository).run(plan: plan, manifest: manifest, to: .directory(target), options: RestoreOptions())
        }
        #expect(refusal?.code == .invalidInput && refusal?.message.contains("not empty") == true, "\(String(describing: refusal))")
        #expect(try String(contentsOfFile: target + "/app.yaml", encoding: .utf8) == "old\n", "a refused restore changed its target")
        let outcome = try await Restorer(repository: repository)
            .run(plan: plan, manifest: manifest, to: .directory(target), options: RestoreOptions(force: true))
        #expect(try String(contentsOfFile: target + "/app.yaml", encoding: .utf8) == "new\n")
        let aside = try #require(outcome.previousMovedTo)
        #expect(try String(contentsOfFile: aside + "/app.yaml", encoding: .utf8) == "old\n", "the old content is kept")
    }

    /// One flipped byte in a stored object is found by `verify --deep`, for every local adapter
    /// and both formats.
    @Test(arguments: Local.allCases, [1, 2])
    func verifyDeepFindsADamagedEntry(local: Local, format: Int) async throws {
        let scratch = ScratchDirectory("adapter")
        scratch.write("source/app.yaml", String(repeating: "setting: value\n", count: 500))
        let memory = MemoryStorage()
        let repository = try Repository.create(in: memory, format: format)
        _ = try await backup(try adapter(local, source: scratch.path + "/source", scratch: scratch.path), into: repository)
        let stored = try memory.list(format == 2 ? "packs/" : "data/")
        let victim = try #require(stored.max { $0.size < $1.size })
        var bytes = try #require(try memory.get(victim.key))
        bytes[bytes.count / 2] ^= 0x55
        try memory.put(victim.key, bytes)
        let report = try Verifier(repository: repository, progress: ProgressLine(enabled: false)).run(selectors: [], deep: true)
        #expect(!report.ok && !report.problems.isEmpty, "a damaged \(victim.key) verified clean")
    }

    /// Every kind of component this build restores (each adapter, each mode).
    static let components: [Manifest.Component] = [
        ("files", nil), ("redis", nil), ("postgres", "logical"), ("postgres", "physical"), ("chroma", "directory"),
        ("chroma", "logical"), ("qdrant", nil), ("command", nil),
    ].map { type, mode in
        Manifest.Component(
            source: "s", type: type, file: "", compression: "zstd", bytes: 0, sha256: "", contentBytes: 0, entries: [],
            metadata: mode.map { ["mode": .string($0)] } ?? [:], warnings: [])
    }

    /// The restore command's targets, parsed in one place: every combination of target flags
    /// gives a target the adapter declares, or exit 2 whose fix lists every target it takes.
    @Test(arguments: components)
    func everyTargetFlagCombinationIsATargetTheAdapterTakesOrARefusalListingThem(component: Manifest.Component) throws {
        let adapter = try SourceAdapters.restoring(component)
        let accepted = adapter.restoreTargets(for: component)
        #expect(!accepted.isEmpty)
        let recovery = RecoveryTarget(kind: .immediate, repository: "/r")
        let setters: [(String, (inout RestoreTarget.Flags) -> Void)] = [
            ("--to", { $0.to = "/tmp/x" }), ("--to-config", { $0.toConfig = "/etc/redis.conf" }), ("--port", { $0.port = 16000 }),
            ("--to-database", { $0.toDatabase = "app" }), ("--to-port", { $0.toPort = 5432 }), ("--to-host", { $0.toHost = "h" }),
            ("--to-path", { $0.toPath = "/tmp/p" }), ("--to-url", { $0.toURL = "http://127.0.0.1:1" }),
            ("--recover-from", { $0.recoverFrom = "file:///s" }),
            (
                "--to-datadir",
                {
                    $0.toDatadir = "/tmp/d"
                    $0.recovery = recovery
                }
            ),
        ]
        var parsed = Set<RestoreTarget.Kind>()
        for mask in 0..<(1 << 10) where mask.nonzeroBitCount <= 2 {
            var flags = RestoreTarget.Flags()
            for (bit, setter) in setters.enumerated() where mask & (1 << bit) != 0 { setter.1(&flags) }
            do {
                let target = try RestoreTarget.parse(flags, for: component)
                #expect(accepted.contains(target.kind), "\(component.type) \(mask): \(target.kind)")
                parsed.insert(target.kind)
            } catch let error as LifeboatError {
                #expect(error.code == .invalidInput)
                for kind in accepted { #expect(error.fix?.contains(kind.flags) == true, "the refusal lists \(kind.flags): \(error)") }
            }
        }
        #expect(parsed == Set(accepted), "every target \(component.type) declares can be asked for")
    }
}
