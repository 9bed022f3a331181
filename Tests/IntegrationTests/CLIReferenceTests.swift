import Foundation
import Testing

/// The command reference and the help texts, as a user reads them: docs/cli.md is what the
/// binary's help says today, no help line is wider than 80 columns (nothing wraps mid-line in a
/// terminal), and the shell completions know every command.
@Suite struct CLIReferenceTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @Test func theCommandReferenceIsNotStale() throws {
        let generated = try CLI.run(["debug", "cli-reference"])
        #expect(generated.status == 0, "\(generated.stderr)")
        let committed = try String(contentsOfFile: Self.root + "/docs/cli.md", encoding: .utf8)
        #expect(generated.stdout == committed, "docs/cli.md is stale: run scripts/dev/gen-cli-docs.sh")
    }

    /// Every command's help, at the 80 columns of a default terminal.
    @Test func noHelpLineIsWiderThan80Columns() throws {
        let reference = try CLI.run(["debug", "cli-reference"]).stdout
        var inBlock = false
        var wide: [String] = []
        for line in reference.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") {
                inBlock.toggle()
                continue
            }
            if inBlock && line.count > 80 { wide.append(String(line)) }
        }
        #expect(wide == [], "help lines wider than 80 columns")
        #expect(reference.contains("## lifeboat restore") && reference.contains("## lifeboat wal push"))
    }

    @Test(arguments: ["bash", "zsh", "fish"])
    func theCompletionsKnowEveryCommand(shell: String) throws {
        let script = try CLI.run(["--generate-completion-script", shell])
        #expect(script.status == 0, "\(script.stderr)")
        for command in [
            "init", "backup", "snapshots", "show", "verify", "restore", "forget", "prune", "run", "wal", "drill", "drills", "keygen", "migrate",
        ] {
            #expect(script.stdout.contains(command), "the \(shell) completion lacks \(command)")
        }
    }
}
