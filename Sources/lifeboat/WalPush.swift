import Foundation
import LifeboatCore

/// What one `lifeboat wal push` does, as plain values: built by `WalPushCommand` (ArgumentParser)
/// or, for archive_command's usual forms, straight from argv by `HotEntry`, which spares each
/// WAL segment ArgumentParser's start (about 6 ms of 16 here).
struct WalPush: Equatable, Encodable {
    var global: GlobalValues
    var asynchronous = false
    var link = false
    var spool: String?
    var spoolLimitMiB = WALSpool.defaultLimitMiB
    var parallel = 4
    var metricsFile: String?
    var path: String

    /// Why these values cannot run together, if they cannot (a usage error).
    var invalidity: String? {
        if !asynchronous && (spool != nil || metricsFile != nil || link) { return "--spool, --link and --metrics-file go with --async" }
        guard (1...32).contains(parallel) else { return "--parallel takes 1 to 32" }
        guard spoolLimitMiB >= 16 else { return "--spool-limit-mib must be at least 16 (one WAL segment)" }
        return nil
    }

    func run() throws {
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
