import Foundation
import LifeboatCore
import Testing

/// One repository for a fleet (#15), on disk and on a real Ceph RGW: hosts back up at once under
/// a shared lock and deduplicate against each other; prune waits for them (exit 5) and never
/// deletes what a snapshot needs; a writer that loses its lock commits nothing.
@Suite(.serialized) struct FleetTests {
    enum Backend: String, CaseIterable, CustomTestStringConvertible {
        case disk, s3
        var testDescription: String { rawValue }
    }

    /// A repository on `backend` (format 2) and the environment its commands need.
    struct Repo {
        let location: String
        let environment: [String: String]
        let storage: any RepositoryStorage

        init(_ backend: Backend, _ box: Sandbox, label: String) throws {
            switch backend {
            case .disk:
                location = box.root + "/repo-\(label)"
                environment = [:]
                storage = try StorageSettings.storage(for: location, settings: StorageSettings())
            case .s3:
                location = RGWServer.shared.newRepository(label)
                environment = RGWServer.shared.environment
                storage = try RGWServer.shared.storage(location)
            }
            let made = try CLI.run(["init", "--repo", location, "--format", "2"], environment: environment)
            #expect(made.status == 0, "\(made.output)")
        }

        /// Bytes of packs, index files and manifests.
        func storedBytes() throws -> Int64 {
            try ["packs/", "index/", "snapshots/"].reduce(0) { sum, prefix in try sum + storage.list(prefix).reduce(0) { $0 + $1.size } }
        }

        func run(_ arguments: [String], extra: [String: String] = [:]) throws -> CLI.Result {
            try CLI.run(arguments, environment: environment.merging(extra) { _, new in new })
        }

        func snapshots() throws -> [[String: Any]] {
            try #require(try run(["snapshots", "--repo", location, "--json"]).json() as? [[String: Any]])
        }
    }

    /// A policy for `source` into `location`.
    static func policy(_ path: String, location: String, source: String, schedules: String = "") throws {
        try "repository: \(location)\ns3: {part_size_mib: 5}\nsources:\n  app: {type: files, path: \(source)}\n\(schedules)"
            .write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test(arguments: Backend.allCases)
    func fourHostsBackUpAtOnceAndDeduplicateAgainstEachOther(backend: Backend) throws {
        let box = try Sandbox("fleet-\(backend)")
        // Each host: the same 12 MiB (an image, shared libraries) and 3 MiB of its own: 80% shared.
        let shared = (0..<4).map { _ in Sandbox.randomBytes(3 << 20) }
        var sources: [String] = []
        for host in 0..<4 {
            let source = box.root + "/host\(host)"
            try FileManager.default.createDirectory(atPath: source + "/opt", withIntermediateDirectories: true)
            for (i, bytes) in shared.enumerated() { try Data(bytes).write(to: URL(fileURLWithPath: source + "/opt/lib\(i).so")) }
            try Data(Sandbox.randomBytes(3 << 20)).write(to: URL(fileURLWithPath: source + "/own-\(host).bin"))
            sources.append(source)
        }
        let repo = try Repo(backend, box, label: "fleet")
        let alone = try Repo(backend, box, label: "alone")
        for host in 0..<4 { try Self.policy(box.root + "/p\(host).yaml", location: repo.location, source: sources[host]) }
        try Self.policy(box.root + "/alone.yaml", location: alone.location, source: sources[0])
        #expect(try alone.run(["backup", "--policy", box.root + "/alone.yaml", "--host", "host0"]).status == 0)

        let running = try (0..<4).map { host in
            try CLI.start(["backup", "--policy", box.root + "/p\(host).yaml", "--host", "host\(host)"], environment: repo.environment)
        }
        for (process, out, err) in running {
            process.waitUntilExit()
            let output = CLI.read(out) + CLI.read(err)
            #expect(process.terminationStatus == 0, "a backup beside three others: \(output)")
        }
        let listed = try repo.snapshots()
        #expect(Set(listed.compactMap { $0["host"] as? String }) == ["host0", "host1", "host2", "host3"])
        let hostTwo = try repo.run(["snapshots", "--repo", repo.location, "--host", "host2", "--json"])
        #expect((try hostTwo.json() as? [Any])?.count == 1)
        let verify = try repo.run(["verify", "--repo", repo.location, "--deep"])
        #expect(verify.status == 0, "\(verify.output)")
        // Backups that run at once cannot see each other's chunks (each reads the index when it
        // starts), so each stores the shared 12 MiB; prune then keeps one copy and repacks the
        // rest away. Stored once: the shared 12 MiB and each host's own 3 MiB. One host alone
        // stores 15 MiB, so four at 80% shared cannot be below 1.6 times that; allow 5% over it.
        let one = try alone.storedBytes()
        let concurrent = try repo.storedBytes()
        let prune = try repo.run(["prune", "--repo", repo.location, "--json"])
        #expect(prune.status == 0, "\(prune.output)")
        let all = try repo.storedBytes()
        let ideal = Double(12 + 4 * 3) / 15
        print(
            "fleet (\(backend)): 4 hosts at once \(concurrent) B, after prune \(all) B, one host \(one) B: "
                + "ratio \(String(format: "%.2f", Double(concurrent) / Double(one))) then \(String(format: "%.2f", Double(all) / Double(one))) (ideal \(ideal))"
        )
        #expect(Double(all) <= Double(one) * ideal * 1.05)
        #expect(try repo.run(["verify", "--repo", repo.location, "--deep"]).status == 0)
        for host in [1, 3] {
            let id = try #require(listed.first { $0["host"] as? String == "host\(host)" }?["id"] as? String)
            let target = box.root + "/restored-\(host)"
            let restore = try repo.run(["restore", id, "--repo", repo.location, "--to", target])
            #expect(restore.status == 0, "\(restore.output)")
            #expect(try Sandbox.describeTree(target) == Sandbox.describeTree(sources[host]))
        }
    }

    @Test(arguments: Backend.allCases)
    func backupsForgetsAndPrunesInterleavedAtRandomLeaveEverySnapshotRestorable(backend: Backend) throws {
        let box = try Sandbox("interleave-\(backend)")
        let repo = try Repo(backend, box, label: "interleave")
        try box.populateConfigTree()
        try Self.policy(
            box.policy, location: repo.location, source: box.source,
            schedules: "schedules:\n  daily: {cron: \"0 2 * * *\", retention: {keep-last: 3}}\n")
        var generator = SystemRandomNumberGenerator()
        var trees: [String: [String: String]] = [:]  // snapshot name → the tree it captured
        var pruneRefusals = 0
        var backupRefusals = 0
        for round in 0..<20 {
            try box.file("round.txt", Array("round \(round)\n".utf8))
            try box.file("data/chunk-\(round % 4).bin", Sandbox.randomBytes(3_000_000))
            let tree = try Sandbox.describeTree(box.source)
            let backup = try CLI.start(["backup", "--policy", box.policy, "--schedule", "daily", "--json"], environment: repo.environment)
            Thread.sleep(forTimeInterval: Double.random(in: 0...0.15, using: &generator))
            let other: CLI.Result
            switch Int.random(in: 0..<3, using: &generator) {
            case 0: other = try repo.run(["forget", "--policy", box.policy])
            case 1: other = try repo.run(["prune", "--repo", repo.location])
            default: other = try repo.run(["forget", "--policy", box.policy, "--prune"])
            }
            backup.0.waitUntilExit()
            let out = CLI.read(backup.1)
            let err = CLI.read(backup.2)
            // The backup either ran, or found a prune that got the lock first and failed at once.
            let refused = backup.0.terminationStatus == 5 && (out + err).contains("holds it exclusively")
            #expect(backup.0.terminationStatus == 0 || refused, "round \(round): \(out) \(err)")
            if refused { backupRefusals += 1 }
            if let name = (try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])?["name"] as? String { trees[name] = tree }
            if other.status == 5 {
                pruneRefusals += 1
                #expect(other.stderr.contains("to itself"), "\(other.stderr)")
            } else {
                #expect(other.status == 0, "round \(round): \(other.output)")
            }
        }
        print("interleavings (\(backend)): \(pruneRefusals) prunes refused while a backup ran, \(backupRefusals) backups while a prune ran")
        #expect(trees.count >= 10, "most rounds made a snapshot")
        #expect(try repo.run(["prune", "--repo", repo.location]).status == 0)
        let verify = try repo.run(["verify", "--repo", repo.location, "--deep"])
        #expect(verify.status == 0, "\(verify.output)")
        let left = try repo.snapshots()
        #expect(!left.isEmpty)
        for snapshot in left {
            let name = try #require(snapshot["name"] as? String)
            let target = box.root + "/restored-\(name)"
            let restore = try repo.run(["restore", name, "--repo", repo.location, "--to", target])
            #expect(restore.status == 0, "\(restore.output)")
            #expect(try Sandbox.describeTree(target) == trees[name], "snapshot \(name) restores what it captured")
        }
    }

    @Test func retentionKeepsEachHostsSnapshotsAndForgetRemovesNamedOnes() throws {
        let box = try Sandbox("fleet-retention")
        try box.populateConfigTree()
        let repo = try Repo(.disk, box, label: "retention")
        try Self.policy(
            box.policy, location: repo.location, source: box.source,
            schedules: "schedules:\n  daily: {cron: \"0 2 * * *\", retention: {keep-last: 1}}\n")
        for host in ["web-1", "web-2", "web-1", "web-2"] {
            #expect(try repo.run(["backup", "--policy", box.policy, "--schedule", "daily", "--host", host]).status == 0)
            Thread.sleep(forTimeInterval: 1.05)
        }
        // keep-last 1 per host: one snapshot of each host stays, not one in all.
        let dry = try repo.run(["forget", "--policy", box.policy, "--group-by", "source,schedule", "--dry-run", "--json"])
        #expect((try dry.json() as? [String: Any])?["forgotten"] as? [String] != nil)
        #expect(((try dry.json() as? [String: Any])?["forgotten"] as? [String])?.count == 3, "without hosts in the grouping: \(dry.output)")
        let forget = try repo.run(["forget", "--policy", box.policy, "--json"])
        #expect(forget.status == 0, "\(forget.output)")
        let groups = try #require((try forget.json() as? [String: Any])?["groups"] as? [[String: Any]])
        #expect(Set(groups.compactMap { $0["host"] as? String }) == ["web-1", "web-2"])
        let left = try repo.snapshots()
        #expect(left.count == 2 && Set(left.compactMap { $0["host"] as? String }) == ["web-1", "web-2"])
        // Named snapshots: by name and by id prefix; an unknown one fails and forgets nothing.
        let first = try #require(left.first?["name"] as? String)
        let second = try #require(left.last?["id"] as? String)
        let unknown = try repo.run(["forget", "--repo", repo.location, first, "no-such-snapshot"])
        #expect(unknown.status == 2, "\(unknown.output)")
        #expect(try repo.snapshots().count == 2)
        #expect(try repo.run(["forget", "--repo", repo.location, first, String(second.prefix(8))]).status == 0)
        #expect(try repo.snapshots().isEmpty)
        #expect(try repo.run(["forget", "--repo", repo.location]).status == 2, "forget without a policy or a snapshot is refused")
    }

    /// Only S3 locks can be lost (on disk the kernel holds the flock until the holder dies).
    @Test func aBackupThatLosesItsLockCommitsNothingAndAPruneThatTookTheLockFindsNothingOfItReferenced() throws {
        let box = try Sandbox("lost-lock")
        let repo = try Repo(.s3, box, label: "lostlock")
        try box.populateConfigTree()
        try Self.policy(box.policy, location: repo.location, source: box.source)
        #expect(try repo.run(["backup", "--policy", box.policy]).status == 0)
        let kept = Set(try repo.storage.list("packs/").map(\.key))
        try box.file("new/data.bin", Sandbox.randomBytes(3 << 20))  // packs only the next backup needs
        let fast = ["LIFEBOAT_LOCK_STALE_SECONDS": "6"]  // refresh every 0.6 s, lost after 4.8 s
        let (backup, out, err) = try CLI.start(
            ["backup", "--policy", box.policy],
            environment: repo.environment.merging(fast) { _, new in new }
                .merging(["LIFEBOAT_STALL_LOCK_REFRESH": "1", "LIFEBOAT_PAUSE_AT": "before-manifest:9"]) { _, new in new })
        defer { if backup.isRunning { kill(backup.processIdentifier, SIGKILL) } }
        Thread.sleep(forTimeInterval: 7.5)  // the backup's lock record is now older than 6 s: stale to others
        #expect(backup.isRunning)
        let prune = try repo.run(["prune", "--repo", repo.location], extra: fast)
        #expect(prune.status == 0, "\(prune.output)")
        #expect(Set(try repo.storage.list("packs/").map(\.key)) == kept, "the prune removed what the paused backup had stored")
        backup.waitUntilExit()
        let stderr = CLI.read(err)
        _ = CLI.read(out)
        #expect(backup.terminationStatus == 1, "\(stderr)")
        #expect(stderr.contains("lock lost"), "\(stderr)")
        #expect(try repo.snapshots().count == 1, "a writer without its lock commits nothing")
        #expect(try repo.run(["verify", "--repo", repo.location]).status == 0)
        let again = try repo.run(["backup", "--policy", box.policy])
        #expect(again.status == 0, "\(again.output)")
        #expect(try repo.run(["verify", "--repo", repo.location, "--deep"]).status == 0)
    }
}
