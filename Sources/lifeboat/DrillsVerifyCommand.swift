import ArgumentParser
import Foundation
import LifeboatCore

/// `lifeboat drills verify REPORT.json`: a report handed over (to an auditor, a ticket) is
/// checked against the SHA-256 it carries of its own canonical form.
struct DrillsVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check that a drill report's JSON is as it was written.",
        usage: "lifeboat drills verify <report.json> [<options>]",
        discussion: "Exit 0 when its content matches the checksum it carries, 3 when it was changed.")

    @Flag(name: .long, help: "Print one JSON document on stdout instead of text.")
    var json = false

    @Argument(help: "The report's JSON file (REPORT-DIR/NAME-TIME.json, or drills/ in the repository).")
    var report: String

    func run() async throws {
        let verified = try DrillReport.verify(file: report)
        if json {
            try Console.json(["ok": "true", "drill": verified.drill, "started": verified.started, "checksum": verified.checksum ?? ""])
        } else {
            print("\(report): intact (drill \(verified.drill), started \(verified.started), sha256 \(verified.checksum ?? ""))")
        }
    }
}
