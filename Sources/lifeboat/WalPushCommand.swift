import ArgumentParser
import Foundation
import LifeboatCore

/// `lifeboat wal push`: PostgreSQL's archive_command, synchronous or into the async spool.
struct WalPushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Archive one WAL file (PostgreSQL's archive_command).", usage: "lifeboat wal push --repo REPO [--async] <path> [<options>]",
        discussion: """
            archive_command = 'lifeboat wal push --repo REPO %p'
            Exits 0 only when the file is durably stored, or already archived with
            identical content. Never overwrites different content.

            archive_command = 'lifeboat wal push --async --repo REPO %p'
            Copies the file into the spool (default pg_wal/lifeboat-spool), fsyncs it and
            exits 0; a detached `wal pusher` (one per spool) stores spooled files in the
            repository, --parallel at a time, and reads ahead in pg_wal/archive_status, so
            a file it stored already is not copied at all. A spool past --spool-limit-mib
            makes archive_command fail (PostgreSQL keeps the file and retries). See
            `lifeboat wal status`.

            archive_command = 'lifeboat wal push --async --link --repo REPO %p'
            Hard-links the file into the spool instead of copying it. Requires
            wal_recycle = off (PostgreSQL 12+): with recycling on, the server overwrites
            an archived segment's file later. The pusher watches for that, copies a
            recycled file out and stops linking (spool/link-unsafe), but cannot win every race.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(name: .customLong("async"), help: "Hand the file to the spool and return; a background pusher stores it.")
    var asynchronous = false

    @Flag(name: .long, help: "Hard-link the file into the spool instead of copying it (with --async; needs wal_recycle = off).")
    var link = false

    @Option(name: .long, help: "The spool directory (with --async; default: lifeboat-spool beside the file, in pg_wal).")
    var spool: String?

    @Option(name: .customLong("spool-limit-mib"), help: "Most MiB the spool may hold (with --async; default 4096).")
    var spoolLimitMiB = WALSpool.defaultLimitMiB

    @Option(name: .long, help: "Files the pusher stores at once (with --async; default 4, at most 32).")
    var parallel = 4

    @Option(name: .customLong("metrics-file"), help: "The pusher writes Prometheus textfile metrics of the spool here (with --async).")
    var metricsFile: String?

    @Argument(help: "The WAL file (%p).")
    var path: String

    /// The values parsed.
    var push: WalPush {
        WalPush(
            global: global.values, asynchronous: asynchronous, link: link, spool: spool, spoolLimitMiB: spoolLimitMiB, parallel: parallel,
            metricsFile: metricsFile, path: path)
    }

    func validate() throws {
        if let invalidity = push.invalidity { throw ValidationError(invalidity) }
    }

    func run() async throws {
        try push.run()
    }
}
