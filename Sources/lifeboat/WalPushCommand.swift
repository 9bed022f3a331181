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

    func validate() throws {
        if !asynchronous && (spool != nil || metricsFile != nil || link) {
            throw ValidationError("--spool, --link and --metrics-file go with --async")
        }
        guard (1...32).contains(parallel) else { throw ValidationError("--parallel takes 1 to 32") }
        guard spoolLimitMiB >= 16 else { throw ValidationError("--spool-limit-mib must be at least 16 (one WAL segment)") }
    }

    func run() async throws {
        if asynchronous { return try handOver() }
        let repository = try global.openRepository()
        let result = try WALArchive(repository: repository).push(path: path)
        if global.json {
            try Console.json(Result(name: result.name, outcome: result.outcome.rawValue, bytes: result.bytes, stored_bytes: result.stored))
        } else if global.verbose {
            print("\(result.name): \(result.outcome.rawValue) (\(ProgressLine.bytes(result.bytes)) → \(ProgressLine.bytes(result.stored)))")
        }
    }

    struct Result: Encodable {
        var name: String
        var outcome: String
        var bytes: Int64
        var stored_bytes: Int64?
    }

    /// --async: into the spool (or found stored ahead), then a pusher if none runs.
    private func handOver() throws {
        let limit = Int64(spoolLimitMiB) << 20
        let spool = self.spool.map { WALSpool(directory: $0, limit: limit) } ?? WALSpool(besideSegment: path, limit: limit)
        let repositoryArguments = try global.repositoryArguments()
        let accepted = try spool.accept(path: path, link: link)
        if !spool.isPusherRunning() {
            var argv = [ChildProcess.currentExecutable, "wal", "pusher"] + repositoryArguments
            argv += ["--spool", spool.directory, "--pg-wal", (FileIO.absolute(path) as NSString).deletingLastPathComponent]
            argv += ["--parallel", String(parallel)]
            if let metricsFile { argv += ["--metrics-file", FileIO.absolute(metricsFile)] }
            try ChildProcess.detach(argv)
        }
        if link, accepted.acceptance == .spooled, let reason = spool.linkUnsafe() {
            global.warn("--link is off for \(spool.directory): \(reason)")
        }
        if let failure = spool.failure() {
            // archive_command's stderr reaches the server log.
            global.warn(
                "the WAL pusher of \(spool.directory) has failed \(failure.attempts) time\(failure.attempts == 1 ? "" : "s") since \(Timestamp.rfc3339(failure.since)) storing \(failure.name): \(failure.message)"
            )
        }
        if global.json {
            try Console.json(Result(name: accepted.name, outcome: accepted.acceptance.rawValue, bytes: accepted.bytes, stored_bytes: nil))
        } else if global.verbose {
            print("\(accepted.name): \(accepted.acceptance.rawValue) (\(ProgressLine.bytes(accepted.bytes)))")
        }
    }
}
