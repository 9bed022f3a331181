import Foundation
import Testing

@Suite struct RetentionPlanCLITests {
    @Test func plansFromAFileOrStdinWithTheDocumentedShape() throws {
        let box = try Sandbox("plan")
        let times = box.root + "/times.txt"
        try """
        2026-11-22T02:00:00Z
        2026-11-21T02:00:00Z

        2026-11-21T01:00:00+00:00
        2026-11-20T02:00:00Z
        """.write(toFile: times, atomically: true, encoding: .utf8)
        let result = try CLI.run(["retention", "plan", "--times", times, "--keep-daily", "2", "--keep-within", "1d", "--json"])
        #expect(result.status == 0, "\(result.output)")
        let plan = try #require(try result.json() as? [String: [[String: Any]]])
        #expect(plan["keep"]?.map { $0["time"] as? String } == ["2026-11-22T02:00:00Z", "2026-11-21T02:00:00Z"])
        #expect(plan["keep"]?.first?["reasons"] as? [String] == ["within 1d", "daily snapshot"])
        #expect(plan["keep"]?.last?["reasons"] as? [String] == ["daily snapshot"])
        #expect(plan["remove"]?.map { $0["time"] as? String } == ["2026-11-21T01:00:00+00:00", "2026-11-20T02:00:00Z"])

        let piped = Process()
        piped.executableURL = URL(fileURLWithPath: CLI.binary)
        piped.arguments = ["retention", "plan", "--times", "-", "--keep-last", "1", "--json"]
        let input = Pipe()
        let output = Pipe()
        piped.standardInput = input
        piped.standardOutput = output
        try piped.run()
        input.fileHandleForWriting.write(Data("2026-01-01T00:00:00Z\n2026-01-02T00:00:00Z\n".utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        piped.waitUntilExit()
        #expect(piped.terminationStatus == 0)
        let stdinPlan = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [[String: Any]]])
        #expect(stdinPlan["keep"]?.first?["time"] as? String == "2026-01-02T00:00:00Z")
    }

    @Test func badInputExits2WithTheLine() throws {
        let box = try Sandbox("plan-bad")
        let times = box.root + "/times.txt"
        try "2026-11-22T02:00:00Z\nyesterday\n".write(toFile: times, atomically: true, encoding: .utf8)
        let bad = try CLI.run(["retention", "plan", "--times", times, "--keep-last", "1"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("\(times):2:1"), "\(bad.stderr)")
        #expect(try CLI.run(["retention", "plan", "--times", times, "--keep-last", "-1"]).status == 2)
        #expect(try CLI.run(["retention", "plan", "--times", times, "--keep-within", "2w"]).status == 2)
        #expect(try CLI.run(["retention", "plan", "--times", times, "--timezone", "Mars/Base"]).status == 2)
    }
}
