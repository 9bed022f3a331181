import ArgumentParser
import Foundation

extension DebugCommand {
    /// `lifeboat debug cli-reference`: docs/cli.md, made from the parser's own help at 80
    /// columns, so the reference cannot drift from `--help` (`scripts/gen-cli-docs.sh` writes it;
    /// a test compares).
    struct CLIReference: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cli-reference", abstract: "Print the command reference (docs/cli.md) as Markdown.")

        func run() throws {
            var text = """
                # Command reference

                Generated from the binary's own help by `scripts/gen-cli-docs.sh`
                (`lifeboat debug cli-reference`); a test fails when this file is stale, so do
                not edit it by hand: change the help texts in `Sources/lifeboat/`.
                Man pages and shell completions: see [operations](operations.md#man-pages-and-shell-completions).

                Exit codes, for every command: 0 success, 1 the operation failed, 2 invalid
                usage, configuration or policy, 3 integrity failure, 4 a drill missed an
                objective, 5 the repository is locked, 130 interrupted, 143 stopped by SIGTERM.

                """
            text += Self.section(Lifeboat.self, path: [])
            print(text, terminator: "")
        }

        /// `command`'s help, then each visible subcommand's, depth first.
        static func section(_ command: any ParsableCommand.Type, path: [String]) -> String {
            let name = command.configuration.commandName ?? "lifeboat"
            let full = path + [name]
            var text = "\n## \(full.joined(separator: " "))\n\n```text\n"
            text += Lifeboat.helpMessage(for: command, columns: 80).trimmingCharacters(in: .whitespacesAndNewlines)
            text += "\n```\n"
            for sub in command.configuration.subcommands where sub.configuration.shouldDisplay {
                text += section(sub, path: full)
            }
            return text
        }
    }
}
