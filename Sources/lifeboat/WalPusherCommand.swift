import ArgumentParser
import Foundation
import LifeboatCore

/// `lifeboat wal pusher`: the background half of `wal push --async`.
struct WalPusherCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pusher", abstract: "Store the files of an async WAL spool in the repository (started by wal push --async).",
        usage: "lifeboat wal pusher --repo REPO --spool DIR [<options>]",
        discussion: """
            `wal push --async` starts it when none runs; one runs per spool (others exit at
            once). Run it by hand to drain a spool whose server has stopped archiving. It
            exits when nothing has been queued for --idle seconds.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The spool directory.")
    var spool: String

    @Option(name: .customLong("pg-wal"), help: "The server's pg_wal, to store ready files ahead of archive_command.")
    var pgWal: String?

    @Option(name: .long, help: "Files stored at once (default 4, at most 32).")
    var parallel = 4

    @Option(name: .long, help: "Exit after this many seconds with nothing to store (default 20).")
    var idle: Double = 20

    @Option(name: .customLong("metrics-file"), help: "Write Prometheus textfile metrics of the spool here after every batch.")
    var metricsFile: String?

    func validate() throws {
        guard (1...32).contains(parallel) else { throw ValidationError("--parallel takes 1 to 32") }
        guard idle >= 0 else { throw ValidationError("--idle must not be negative") }
    }

    func run() async throws {
        let repository = try global.openRepository()
        let pusher = WALPusher(
            spool: WALSpool(directory: spool), archive: WALArchive(repository: repository), pgWal: pgWal, parallel: parallel, idle: idle,
            metricsFile: metricsFile)
        guard let state = try pusher.run() else {
            if !global.quiet { Console.note("lifeboat: another pusher is storing \(FileIO.absolute(spool))") }
            return
        }
        if global.verbose { print("stored \(state.pushed) WAL file\(state.pushed == 1 ? "" : "s")") }
        if let failure = state.failure {
            throw LifeboatError(
                .operationFailed, "storing \(failure.name) failed \(failure.attempts) time\(failure.attempts == 1 ? "" : "s"): \(failure.message)")
        }
    }
}
