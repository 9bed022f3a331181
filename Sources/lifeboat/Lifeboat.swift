import ArgumentParser
import Foundation
import LifeboatCore

/// The `lifeboat` command. Exit codes are decided here and only here (README, "Exit codes").
@main
struct Lifeboat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lifeboat",
        abstract: "Back up, verify, restore and drill PostgreSQL, Redis, vector stores, files.",
        version: LifeboatVersion.current,
        subcommands: [
            InitCommand.self, BackupCommand.self, SnapshotsCommand.self, ShowCommand.self,
            VerifyCommand.self, RestoreCommand.self, RetentionCommand.self,
            LsCommand.self, FindCommand.self, DiffCommand.self, DumpCommand.self, StatusCommand.self,
            ForgetCommand.self, PruneCommand.self, RunCommand.self, SchedulesCommand.self, WalCommand.self, DrillCommand.self, DrillsCommand.self,
            KeygenCommand.self,
            MigrateCommand.self, DebugCommand.self,
        ]
    )

    static func main() async {
        MallocArenas.limit(to: 2)
        Interrupts.install()
        do {
            if let command = HotEntry.command(CommandLine.arguments.dropFirst()) {
                return try command.run()
            }
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch var error as LifeboatError {
            OpenTemporaries.removeAll()  // a worker thread may still hold a writer
            // A failure that an interrupt caused ends as the interrupt.
            if let stop = Cancellation.process.tripped, stop.code == .interrupted || stop.code == .terminated { error = stop }
            Console.report(error)
            Foundation.exit(error.code.exitCode)
        } catch {
            OpenTemporaries.removeAll()
            if let stop = Cancellation.process.tripped, stop.code == .interrupted || stop.code == .terminated {
                Console.report(stop)
                Foundation.exit(stop.code.exitCode)
            }
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let message = fullMessage(for: error)
            if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
            // Usage errors (ArgumentParser's 64) are "invalid usage": 2 in our contract.
            Foundation.exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}
