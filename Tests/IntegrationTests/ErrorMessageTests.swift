import Foundation
import Testing
import LifeboatCore

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
}
