import Foundation
import Testing

@Suite struct ExitCodeTests {
    @Test func invalidPolicyExits2WithFileLineAndFix() throws {
        let box = try Sandbox("badpolicy")
        let bad = box.root + "/bad.yaml"
        try "repository: \(box.repo)\nsources:\n  cfg: {type: files, paht: /etc}\n".write(toFile: bad, atomically: true, encoding: .utf8)
        try CLI.run(["init", "--repo", box.repo])
        let result = try CLI.run(["backup", "--policy", bad])
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(bad):3:22"), "\(result.stderr)")
        #expect(result.stderr.contains("did you mean \"path\""))
        let json = try CLI.run(["backup", "--policy", bad, "--json"])
        let error = try #require((try json.json() as? [String: Any])?["error"] as? [String: Any])
        #expect(error["exit_code"] as? Int == 2)
        #expect(error["location"] as? String == "\(bad):3:22")
        #expect(try FileManager.default.contentsOfDirectory(atPath: box.repo + "/snapshots").isEmpty)
    }

    @Test func usageErrorsAndMissingRepositoriesExit2() throws {
        let box = try Sandbox("usage")
        #expect(try CLI.run(["verify", "--repo", box.root + "/nope"]).status == 2)
        #expect(try CLI.run(["restore"]).status == 2)
        #expect(try CLI.run(["frobnicate"]).status == 2)
        #expect(try CLI.run(["snapshots"]).status == 2)
        try CLI.run(["init", "--repo", box.repo])
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 2)
        #expect(try CLI.run(["--help"]).status == 0)
    }
}
