import Foundation
import LifeboatCore
import Testing

/// #13 item 10: messages that help.
@Suite struct ErrorMessageTests {
    @Test func item10_diskFullNamesThePathAndTheReason() throws {
        let box = try Sandbox("full")
        try box.file("big.bin", Sandbox.randomBytes(6 << 20))
        let mountPoint = box.root + "/small"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        // The test machine and CI run as root (scripts/test.sh installs packages): a 2 MiB tmpfs.
        #expect(try ChildProcess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint], in: "/") == 0)
        defer { _ = try? ChildProcess.run(["umount", mountPoint], in: "/") }
        let repo = mountPoint + "/repo"
        #expect(try CLI.run(["init", "--repo", repo]).status == 0)
        let backup = try CLI.run(["backup", "--policy", box.policy, "--repo", repo, "--compression", "none"])
        #expect(backup.status == 1, "\(backup.output)")
        #expect(backup.stderr.contains("No space left on device") && backup.stderr.contains(repo), "\(backup.output)")
        #expect(!backup.stderr.contains("unknown libarchive error"))
        #expect((try CLI.run(["snapshots", "--repo", repo, "--json"]).json() as? [Any])?.isEmpty == true)
    }

    @Test func item10_duplicateKeysAreReportedWhereTheyAre() throws {
        let box = try Sandbox("dup")
        try """
        repository: \(box.repo)
        sources:
          cfg: {type: files, path: \(box.source)}
        sources:
          other: {type: files, path: \(box.source)}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        let result = try CLI.run(["backup", "--policy", box.policy])
        #expect(result.status == 2)
        #expect(result.stderr.contains("policy.yaml:4:1:") && result.stderr.contains("appears twice"), "\(result.output)")
        #expect(!result.stderr.contains("Context:"))
    }

    @Test func item10_aSourcePathThatIsMissingOrAFileIsExit2() throws {
        let box = try Sandbox("srcpath")
        try CLI.run(["init", "--repo", box.repo])
        for path in [box.root + "/missing", box.policy] {
            try """
            repository: \(box.repo)
            sources:
              cfg: {type: files, path: \(path)}
            """.write(toFile: box.root + "/p.yaml", atomically: true, encoding: .utf8)
            let result = try CLI.run(["backup", "--policy", box.root + "/p.yaml"])
            #expect(result.status == 2, "\(path): \(result.output)")
        }
    }

    /// #18's smaller findings: a dry run refuses what the restore would refuse and says what
    /// --force moves aside; short id prefixes, source typos, init on a repository and a missing
    /// --repo each get a fix line.
    @Test func dryRunsAndSelectorsSayWhatTheRealCommandWould() throws {
        let box = try Sandbox("dry-run")
        try box.file("a.txt", Array("a\n".utf8))
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        #expect(try CLI.run(["backup", "--policy", box.policy]).status == 0)
        let again = try CLI.run(["init", "--repo", box.repo])
        #expect(again.status == 2 && again.stderr.contains("fix:") && again.stderr.contains("snapshots --repo"), "\(again.output)")

        let occupied = box.root + "/occupied"
        try FileManager.default.createDirectory(atPath: occupied, withIntermediateDirectories: true)
        try "keep me".write(toFile: occupied + "/x", atomically: true, encoding: .utf8)
        let real = try CLI.run(["restore", "latest", "--repo", box.repo, "--to", occupied])
        let dry = try CLI.run(["restore", "latest", "--repo", box.repo, "--to", occupied, "--dry-run"])
        #expect(real.status == 2 && dry.status == 2, "\(dry.output)")
        #expect(dry.stderr.contains("not empty") && dry.stderr.contains("--force"))
        let forced = try CLI.run(["restore", "latest", "--repo", box.repo, "--to", occupied, "--dry-run", "--force", "--json"])
        let forcedPlan = try forced.json() as? [String: Any]
        #expect(forced.status == 0 && forcedPlan?["moves_aside"] as? Bool == true, "\(forced.output)")
        #expect(try String(contentsOfFile: occupied + "/x", encoding: .utf8) == "keep me")  // a dry run writes nothing

        let id = try #require(((try CLI.run(["snapshots", "--repo", box.repo, "--json"]).json() as? [[String: Any]])?.first?["id"] as? String))
        let short = try CLI.run(["restore", String(id.prefix(2)), "--repo", box.repo, "--to", box.root + "/out"])
        #expect(short.status == 2 && short.stderr.contains("4 hex digits"), "\(short.output)")
        let typo = try CLI.run(["restore", "latest", "--repo", box.repo, "--source", "cgf", "--to", box.root + "/out"])
        #expect(typo.status == 2 && typo.stderr.contains("sources in this repository: cfg"), "\(typo.output)")
        let noRepo = try CLI.run(["snapshots"])
        #expect(noRepo.status == 2 && !noRepo.stderr.contains("repository:` to the policy"), "\(noRepo.output)")
    }
}
