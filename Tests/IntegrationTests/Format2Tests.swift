import Foundation
import LifeboatCore
import Testing

/// #14 (first step): a format-2 repository (`init --format 2`) stores each component's stream as
/// FastCDC chunks in packs, deduplicated; backups, plain and deep verify, and restores work on
/// disk, plain and encrypted; damage to packs and index files is found with exit 3.
@Suite struct Format2Tests {
    static func repositoryBytes(_ repo: String, under prefix: String) -> Int64 {
        let enumerator = FileManager.default.enumerator(atPath: repo + "/" + prefix)
        var total: Int64 = 0
        while let relative = enumerator?.nextObject() as? String {
            total += (try? FileManager.default.attributesOfItem(atPath: repo + "/" + prefix + "/" + relative)[.size] as? Int64) ?? 0
        }
        return total
    }

    static func size(_ path: String) -> Int64 {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0
    }

    static func files(_ repo: String, under prefix: String) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: repo + "/" + prefix)
        var out: [String] = []
        while let relative = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: repo + "/" + prefix + "/" + relative, isDirectory: &isDirectory), !isDirectory.boolValue {
                out.append(prefix + "/" + relative)
            }
        }
        return out.sorted()
    }

    /// A tree of 24 MiB of incompressible files plus the config-tree oddities.
    static func populate(_ box: Sandbox) throws {
        try box.populateConfigTree()
        for i in 0..<12 { try box.file("blobs/part-\(i).bin", Sandbox.randomBytes(2 << 20)) }
    }

    @Test func backupsDeduplicateAndRestoreExactly() throws {
        let box = try Sandbox("format2")
        try Self.populate(box)
        #expect(try CLI.run(["init", "--repo", box.repo, "--format", "2"]).status == 0)
        let first = try CLI.run(["backup", "--policy", box.policy, "--json"])
        #expect(first.status == 0, "\(first.output)")
        let afterFirst = Self.repositoryBytes(box.repo, under: "packs")
        #expect(afterFirst > 24 << 20 && afterFirst < 30 << 20, "\(afterFirst)")

        // Edit one file in place and append to another: the second snapshot stores what changed.
        let path = box.source + "/blobs/part-3.bin"
        let fd = open(path, O_WRONLY)
        _ = Array("edited in place".utf8).withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 1 << 20) }
        close(fd)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: box.source + "/data/deep/er/still/text.log"))
        handle.seekToEndOfFile()
        handle.write(Data("GET /new 200\n".utf8))
        try handle.close()
        let second = try CLI.run(["backup", "--policy", box.policy, "--json"])
        #expect(second.status == 0, "\(second.output)")
        let added = Self.repositoryBytes(box.repo, under: "packs") - afterFirst
        #expect(added < 6 << 20, "the second backup added \(added) bytes for two small edits")
        let component = try #require(((try second.json() as? [String: Any])?["components"] as? [[String: Any]])?.first)
        let dedup = try #require(component["dedup"] as? [String: Any])
        #expect((dedup["new_chunks"] as? Int ?? 99) < (dedup["chunks"] as? Int ?? 0), "\(dedup)")
        #expect(Self.files(box.repo, under: "data").isEmpty, "format 2 writes no per-snapshot files")
        // Manifest format 3: the entries live in an entry list in the chunk store.
        for manifest in Self.files(box.repo, under: "snapshots") {
            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: box.repo + "/" + manifest))) as? [String: Any])
            let stored = try #require((json["components"] as? [[String: Any]])?.first)
            #expect(json["format"] as? Int == 3 && (stored["entries"] as? [Any])?.isEmpty == true, "\(manifest)")
            #expect(((stored["entry_list"] as? [String: Any])?["count"] as? Int ?? 0) > 10, "\(manifest)")
        }
        let shown = try CLI.run(["show", "latest", "--repo", box.repo, "--entries"])
        #expect(shown.status == 0 && shown.stdout.contains("blobs/part-3.bin"), "\(shown.output)")

        #expect(try CLI.run(["verify", "--repo", box.repo]).status == 0)
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0)
        let snapshots = try #require(try CLI.run(["snapshots", "--repo", box.repo, "--json"]).json() as? [[String: Any]])
        #expect(snapshots.count == 2)
        for (n, snapshot) in snapshots.enumerated() {
            let out = box.root + "/out-\(n)"
            let restore = try CLI.run(["restore", snapshot["id"] as! String, "--repo", box.repo, "--to", out])
            #expect(restore.status == 0, "\(restore.output)")
        }
        #expect(try Sandbox.describeTree(box.root + "/out-1") == Sandbox.describeTree(box.source))
        #expect(try Sandbox.describeTree(box.root + "/out-0") != Sandbox.describeTree(box.source))
    }

    /// `verify --read-data-subset N/M` reads a slice of the packs and proves their chunks: a bit
    /// flipped inside a data blob, which plain verify (sizes only) cannot see, is exit 3 naming
    /// every snapshot that needs it; the M slices together read every pack once.
    @Test func aDataSubsetReadsItsPacksAndFindsWhatPlainVerifyCannot() throws {
        let box = try Sandbox("subset")
        try Self.populate(box)
        #expect(try CLI.run(["init", "--repo", box.repo, "--format", "2"]).status == 0)
        #expect(try CLI.run(["backup", "--policy", box.policy, "-q"]).status == 0)
        #expect(try CLI.run(["backup", "--policy", box.policy, "-q"]).status == 0)
        let packs = Self.files(box.repo, under: "packs")
        var read = 0
        for part in 1...3 {
            let run = try CLI.run(["verify", "--repo", box.repo, "--read-data-subset", "\(part)/3", "--json"])
            #expect(run.status == 0, "\(run.output)")
            let subset = try #require((try run.json() as? [String: Any])?["data_subset"] as? [String: Any])
            read += subset["packs"] as? Int ?? 0
            #expect(subset["packs_in_repository"] as? Int == packs.count)
        }
        #expect(read == packs.count, "the three slices read \(read) of \(packs.count) packs")

        let largest = try #require(packs.max { Self.size(box.repo + "/" + $0) < Self.size(box.repo + "/" + $1) })
        let fd = open(box.repo + "/" + largest, O_RDWR)
        var byte: UInt8 = 0
        _ = pread(fd, &byte, 1, 1000)
        byte ^= 0x10
        _ = pwrite(fd, &byte, 1, 1000)
        close(fd)
        #expect(try CLI.run(["verify", "--repo", box.repo]).status == 0, "plain verify checks sizes, not bytes")
        let damaged = try CLI.run(["verify", "--repo", box.repo, "--read-data-subset", "1/1"])
        #expect(damaged.status == 3, "\(damaged.output)")
        let names = try #require(try CLI.run(["snapshots", "--repo", box.repo, "--json"]).json() as? [[String: Any]]).compactMap {
            $0["name"] as? String
        }
        #expect(names.count == 2 && names.allSatisfy { damaged.stderr.contains($0) }, "\(names) \(damaged.output)")
        #expect(damaged.stderr.contains("damaged"), "\(damaged.output)")

        let bad = try CLI.run(["verify", "--repo", box.repo, "--read-data-subset", "4/3"])
        #expect(bad.status == 2 && bad.stderr.contains("N/M"), "\(bad.output)")
    }

    @Test func damagedAndMissingPacksAndIndexFilesAreExit3() throws {
        let box = try Sandbox("format2-damage")
        try Self.populate(box)
        #expect(try CLI.run(["init", "--repo", box.repo, "--format", "2"]).status == 0)
        #expect(try CLI.run(["backup", "--policy", box.policy]).status == 0)
        let packs = Self.files(box.repo, under: "packs")
        let index = try #require(Self.files(box.repo, under: "index").first)
        #expect(!packs.isEmpty)

        // A bit flip inside a data pack (the largest: the chunk list sits in the last, smaller
        // one): plain verify (references, sizes) passes, deep verify and restore do not.
        let pack = box.repo + "/" + packs.max { Self.size(box.repo + "/" + $0) < Self.size(box.repo + "/" + $1) }!
        var bytes = try Data(contentsOf: URL(fileURLWithPath: pack))
        bytes[1000] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: pack))
        #expect(try CLI.run(["verify", "--repo", box.repo]).status == 0)
        let deep = try CLI.run(["verify", "--repo", box.repo, "--deep"])
        #expect(deep.status == 3 && deep.stderr.contains("damaged"), "\(deep.output)")
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--to", box.root + "/out"])
        #expect(restore.status == 3, "\(restore.output)")
        #expect(!FileManager.default.fileExists(atPath: box.root + "/out"))
        bytes[1000] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: pack))

        // A missing pack: plain verify names the snapshot.
        try FileManager.default.moveItem(atPath: pack, toPath: box.root + "/aside")
        let missing = try CLI.run(["verify", "--repo", box.repo])
        #expect(missing.status == 3 && missing.stderr.contains("missing") && missing.stderr.contains("snapshot"), "\(missing.output)")
        try FileManager.default.moveItem(atPath: box.root + "/aside", toPath: pack)

        // A damaged index file: its chunks are unknown, so verify fails rather than trusting it.
        let indexPath = box.repo + "/" + index
        var indexBytes = try Data(contentsOf: URL(fileURLWithPath: indexPath))
        indexBytes[indexBytes.count / 2] ^= 0x01
        try indexBytes.write(to: URL(fileURLWithPath: indexPath))
        #expect(try CLI.run(["verify", "--repo", box.repo]).status == 3)
    }

    @Test func encryptedRepositoriesDeduplicateWithoutTheReadingKey() throws {
        let box = try Sandbox("format2-enc")
        try Self.populate(box)
        let keys = box.root + "/keys"
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        #expect(try CLI.run(["keygen", "--out", keys + "/team"]).status == 0)
        #expect(try CLI.run(["init", "--repo", box.repo, "--format", "2", "--encrypt", "--public-key", keys + "/team.pub"]).status == 0)
        #expect(try CLI.run(["backup", "--policy", box.policy]).status == 0)
        let afterFirst = Self.repositoryBytes(box.repo, under: "packs")
        // The backup host holds the public key only, and still deduplicates.
        #expect(try CLI.run(["backup", "--policy", box.policy]).status == 0)
        #expect(Self.repositoryBytes(box.repo, under: "packs") - afterFirst < 1 << 20)
        #expect(try CLI.run(["verify", "--repo", box.repo]).status == 0, "plain verify needs no key")
        // Nothing readable in the packs.
        var all = Data()
        for file in Self.files(box.repo, under: "packs") { all += FileManager.default.contents(atPath: box.repo + "/" + file) ?? Data() }
        #expect(all.range(of: Data("GET /health 200".utf8)) == nil && all.range(of: Data("app.yaml".utf8)) == nil)
        let refused = try CLI.run(["restore", "latest", "--repo", box.repo, "--to", box.root + "/nokey"])
        #expect(refused.status == 2 && refused.stderr.contains("--private-key"), "\(refused.output)")
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--to", box.root + "/out", "--private-key", keys + "/team.key"])
        #expect(restore.status == 0, "\(restore.output)")
        #expect(try Sandbox.describeTree(box.root + "/out") == Sandbox.describeTree(box.source))
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep", "--private-key", keys + "/team.key"]).status == 0)
    }

    /// Prune reclaims packs no kept snapshot needs; a kill at each step leaves a repository that
    /// deep-verifies clean, and the next prune finishes.
    @Test(arguments: ["none", "prune-index-written", "prune-index-replaced", "prune-pack-deleted"])
    func pruneReclaimsPacksAndSurvivesAKillAtEachStep(point: String) throws {
        let box = try Sandbox("format2-prune")
        try box.writePolicy(schedules: ["hourly: {cron: \"0 * * * *\", retention: {keep-last: 1}}"])
        #expect(try CLI.run(["init", "--repo", box.repo, "--format", "2"]).status == 0)
        try box.file("old.bin", Sandbox.randomBytes(20 << 20))
        #expect(try CLI.run(["backup", "--policy", box.policy, "--schedule", "hourly"]).status == 0)
        Thread.sleep(forTimeInterval: 1.05)
        try FileManager.default.removeItem(atPath: box.source + "/old.bin")
        try box.file("new.bin", Sandbox.randomBytes(3 << 20))
        #expect(try CLI.run(["backup", "--policy", box.policy, "--schedule", "hourly"]).status == 0)
        let before = Self.repositoryBytes(box.repo, under: "packs")
        #expect(before > 23 << 20)

        if point != "none" {
            let killed = try CLI.run(["forget", "--policy", box.policy, "--prune"], environment: ["LIFEBOAT_CRASH_AT": point])
            #expect(killed.status == 9 || killed.status == 137, "\(killed.output)")
            #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0, "after a kill at \(point)")
        }
        let prune = try CLI.run(["forget", "--policy", box.policy, "--prune", "--json"])
        #expect(prune.status == 0, "\(prune.output)")
        let after = Self.repositoryBytes(box.repo, under: "packs")
        // The packs that hold only old.bin's chunks are gone; one that shares a chunk with the
        // kept snapshot (the tar trailer, say) is repacked.
        #expect(after < before - (14 << 20), "prune left \(after) of \(before) bytes of packs")
        #expect(Self.files(box.repo, under: "index").count == 1)
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0)
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--to", box.root + "/out"])
        #expect(restore.status == 0, "\(restore.output)")
        #expect(try Sandbox.describeTree(box.root + "/out") == Sandbox.describeTree(box.source))
        // Nothing left to do: a second prune removes nothing.
        let again = try CLI.run(["prune", "--repo", box.repo, "--json"])
        #expect((try again.json() as? [String: Any])?["removed"] as? [String] == [], "\(again.output)")
    }

    /// Forgetting a snapshot leaves packs partly used; prune repacks them, so the repository
    /// shrinks to within 10% of a fresh backup of what remains, and a kill at each step of it
    /// leaves a repository that deep-verifies clean and that the next prune finishes.
    @Test(arguments: ["none", "prune-repack-written", "prune-index-written", "prune-index-replaced", "prune-pack-deleted"])
    func pruneRepacksPartlyUsedPacksAndSurvivesAKillAtEachStep(point: String) throws {
        let box = try Sandbox("format2-repack")
        try box.writePolicy(schedules: ["hourly: {cron: \"0 * * * *\", retention: {keep-last: 1}}"])
        #expect(try CLI.run(["init", "--repo", box.repo, "--format", "2"]).status == 0)
        for name in ["a", "b", "c", "d"] { try box.file("\(name).bin", Sandbox.randomBytes(5 << 20)) }
        #expect(try CLI.run(["backup", "--policy", box.policy, "--schedule", "hourly"]).status == 0)
        Thread.sleep(forTimeInterval: 1.05)
        // Every pack of the first snapshot now holds chunks of b.bin and d.bin, which nothing needs.
        try FileManager.default.removeItem(atPath: box.source + "/b.bin")
        try FileManager.default.removeItem(atPath: box.source + "/d.bin")
        try box.file("e.bin", Sandbox.randomBytes(2 << 20))
        #expect(try CLI.run(["backup", "--policy", box.policy, "--schedule", "hourly"]).status == 0)
        let fresh = box.root + "/fresh"
        #expect(try CLI.run(["init", "--repo", fresh, "--format", "2"]).status == 0)
        try "repository: \(fresh)\nsources:\n  cfg: {type: files, path: \(box.source)}\n".write(
            toFile: box.root + "/fresh.yaml", atomically: true, encoding: .utf8)
        #expect(try CLI.run(["backup", "--policy", box.root + "/fresh.yaml"]).status == 0)
        let freshBytes = Self.repositoryBytes(fresh, under: "packs")

        if point != "none" {
            let killed = try CLI.run(["forget", "--policy", box.policy, "--prune"], environment: ["LIFEBOAT_CRASH_AT": point])
            #expect(killed.status == 9 || killed.status == 137, "\(killed.output)")
            #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0, "after a kill at \(point)")
        }
        #expect(try CLI.run(["forget", "--policy", box.policy]).status == 0)
        let dry = try CLI.run(["prune", "--repo", box.repo, "--dry-run", "--json"])
        let planned = try #require(try dry.json() as? [String: Any])
        let prune = try CLI.run(["prune", "--repo", box.repo, "--json"])
        #expect(prune.status == 0, "\(prune.output)")
        let report = try #require(try prune.json() as? [String: Any])
        if point == "none" {
            #expect((planned["repacked"] as? [String])?.isEmpty == false, "\(dry.output)")
            #expect((report["repacked"] as? [String]) == (planned["repacked"] as? [String]))
            #expect((report["repacked_bytes"] as? Int ?? 0) > 0)
        }
        let after = Self.repositoryBytes(box.repo, under: "packs")
        #expect(Double(after) <= Double(freshBytes) * 1.10, "after prune \(after) B of packs, a fresh backup \(freshBytes) B")
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0)
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--to", box.root + "/out"])
        #expect(restore.status == 0, "\(restore.output)")
        #expect(try Sandbox.describeTree(box.root + "/out") == Sandbox.describeTree(box.source))
        let again = try CLI.run(["prune", "--repo", box.repo, "--json"])
        #expect((try again.json() as? [String: Any])?["removed"] as? [String] == [], "a second prune has nothing to do: \(again.output)")
    }

    /// Unchanged files are not read again (their chunks are the parent's); a file whose content
    /// changed behind an unchanged size and mtime is read (its ctime moved); --force-read reads all.
    @Test func unchangedFilesAreNotReadAndAChangedOneAlwaysIs() throws {
        let box = try Sandbox("format2-parent")
        try Self.populate(box)
        #expect(try CLI.run(["init", "--repo", box.repo, "--format", "2"]).status == 0)
        #expect(try CLI.run(["backup", "--policy", box.policy]).status == 0)
        let metadata = { (result: CLI.Result) throws -> [String: Any] in
            try #require(((try result.json() as? [String: Any])?["components"] as? [[String: Any]])?.first?["metadata"] as? [String: Any])
        }
        // The manifest's metadata is only in `show`; backup --json lists the summary.
        func lastMetadata() throws -> [String: Any] {
            let show = try CLI.run(["show", "latest", "--repo", box.repo, "--json"])
            return try metadata(show)
        }
        Thread.sleep(forTimeInterval: 1.05)
        #expect(try CLI.run(["backup", "--policy", box.policy]).status == 0)
        let again = try lastMetadata()
        #expect(again["files_unchanged"] as? Int == 14, "\(again)")  // 12 blobs, random.bin, text.log (all >= 256 KiB)
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0)

        // Same size, same mtime, other content: the ctime tells, so the file is read.
        let path = box.source + "/blobs/part-5.bin"
        var st = stat()
        #expect(stat(path, &st) == 0)
        let fd = open(path, O_WRONLY)
        _ = Array("changed behind the mtime".utf8).withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 4096) }
        var times = [st.st_atim, st.st_mtim]
        futimens(fd, &times)
        close(fd)
        Thread.sleep(forTimeInterval: 1.05)
        #expect(try CLI.run(["backup", "--policy", box.policy]).status == 0)
        #expect(try lastMetadata()["files_unchanged"] as? Int == 13)
        let out = box.root + "/out"
        #expect(try CLI.run(["restore", "latest", "--repo", box.repo, "--to", out]).status == 0)
        #expect(try Sandbox.describeTree(out) == Sandbox.describeTree(box.source))

        Thread.sleep(forTimeInterval: 1.05)
        #expect(try CLI.run(["backup", "--policy", box.policy, "--force-read"]).status == 0)
        #expect(try lastMetadata()["files_unchanged"] == nil)
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0)
    }

    /// `migrate` copies a format-1 repository into format 2: same snapshots (ids and names), same
    /// restores, deep verify clean, WAL objects copied; a second run skips everything.
    @Test func migrateCopiesAFormat1RepositoryWithoutChangingWhatARestoreGives() throws {
        let box = try Sandbox("format2-migrate")
        try Self.populate(box)
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)  // format 1, as v0.1 made it
        #expect(try CLI.run(["backup", "--policy", box.policy, "--schedule", "daily"]).status == 0)
        try box.file("later.txt", Array("later\n".utf8))
        Thread.sleep(forTimeInterval: 1.05)
        #expect(try CLI.run(["backup", "--policy", box.policy, "--compression", "gzip"]).status == 0)
        try FileManager.default.createDirectory(atPath: box.repo + "/wal/00000001", withIntermediateDirectories: true)
        try Data("not really WAL".utf8).write(to: URL(fileURLWithPath: box.repo + "/wal/00000001/segment-test"))

        let target = box.root + "/repo2"
        let refused = try CLI.run(["migrate", "--from", box.repo, "--repo", box.repo])
        #expect(refused.status == 2, "\(refused.output)")
        #expect(try CLI.run(["init", "--repo", target, "--format", "2"]).status == 0)
        let migrate = try CLI.run(["migrate", "--from", box.repo, "--repo", target, "--json"])
        #expect(migrate.status == 0, "\(migrate.output)")
        let report = try #require(try migrate.json() as? [String: Any])
        #expect((report["migrated"] as? [String])?.count == 2 && report["objects_copied"] as? Int == 1, "\(report)")
        let old = try #require(try CLI.run(["snapshots", "--repo", box.repo, "--json"]).json() as? [[String: Any]])
        let new = try #require(try CLI.run(["snapshots", "--repo", target, "--json"]).json() as? [[String: Any]])
        #expect(old.map { $0["id"] as? String } == new.map { $0["id"] as? String })
        #expect(old.map { $0["name"] as? String } == new.map { $0["name"] as? String })
        #expect(try CLI.run(["verify", "--repo", target, "--deep"]).status == 0)
        for snapshot in old {
            let id = snapshot["id"] as! String
            #expect(try CLI.run(["restore", id, "--repo", box.repo, "--to", box.root + "/a-\(id)"]).status == 0)
            #expect(try CLI.run(["restore", id, "--repo", target, "--to", box.root + "/b-\(id)"]).status == 0)
            #expect(try Sandbox.describeTree(box.root + "/a-\(id)") == Sandbox.describeTree(box.root + "/b-\(id)"))
        }
        #expect(FileManager.default.contents(atPath: target + "/wal/00000001/segment-test") == Data("not really WAL".utf8))
        // The two snapshots share almost everything: the target holds about one copy.
        #expect(Self.repositoryBytes(target, under: "packs") < 34 << 20)
        let again = try CLI.run(["migrate", "--from", box.repo, "--repo", target, "--json"])
        #expect((try again.json() as? [String: Any])?["skipped"] as? [String] == old.map { $0["name"] as! String }, "\(again.output)")
        // A later backup into the migrated repository deduplicates against the migrated data.
        try Sandbox.writePolicyRepository(box, repo: target)
        #expect(try CLI.run(["backup", "--policy", box.policy]).status == 0)
        #expect(try CLI.run(["verify", "--repo", target, "--deep"]).status == 0)
    }
}

extension Sandbox {
    /// Points the sandbox policy at another repository.
    static func writePolicyRepository(_ box: Sandbox, repo: String) throws {
        let text = try String(contentsOfFile: box.policy, encoding: .utf8).replacingOccurrences(of: box.repo, with: repo)
        try text.write(toFile: box.policy, atomically: true, encoding: .utf8)
    }
}
