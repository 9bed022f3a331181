import ArgumentParser
import LifeboatCore

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Capture sources now as one snapshot; prints its name.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The policy file.")
    var policy: String

    @Option(name: .long, help: "Schedule whose sources and compression to use; also names the snapshot (default: manual, all sources).")
    var schedule: String?

    @Option(name: .long, help: "Only this source (repeatable).")
    var source: [String] = []

    @Option(name: .long, help: "Override compression: zstd[:LEVEL], gzip[:LEVEL] or none.")
    var compression: String?

    @Option(name: .long, help: "The host this snapshot is of, when several share a repository (default: this machine's host name).")
    var host: String?

    @Option(
        name: .long,
        help:
            "Name the snapshot (e.g. pre-migration-20261202) instead of <schedule>-<time>; unique, exit 2 if taken. Retention never forgets a manual backup; `forget NAME` does."
    )
    var name: String?

    @Option(name: .long, help: "Tag the snapshot (repeatable): `snapshots --tag T`, retention's keep-tag.")
    var tag: [String] = []

    @Flag(name: .long, help: "Format 2: read every file, even those the previous snapshot holds unchanged (same size, mtime, ctime, inode).")
    var forceRead = false

    func run() async throws {
        let policy = try PolicyLoader.load(path: self.policy)
        var sources = policy.sources
        var compression = policy.compression
        var scheduleName = "manual"
        if let name = schedule {
            guard let chosen = policy.schedule(name) else {
                throw LifeboatError(
                    .invalidInput, "policy \(policy.file) has no schedule \"\(name)\"",
                    fix: "schedules: \(policy.schedules.map(\.name).joined(separator: ", "))")
            }
            sources = policy.sources(of: chosen)
            compression = chosen.compression ?? compression
            scheduleName = name
        }
        if !source.isEmpty {
            for name in source where policy.source(name) == nil {
                throw LifeboatError(
                    .invalidInput, "policy \(policy.file) has no source \"\(name)\"",
                    fix: "sources: \(policy.sources.map(\.name).joined(separator: ", "))")
            }
            sources = sources.filter { source.contains($0.name) }
            guard !sources.isEmpty else {
                throw LifeboatError(.invalidInput, "schedule \(scheduleName) covers none of the sources given with --source")
            }
        }
        if let text = self.compression {
            guard let parsed = Compression(parsing: text) else {
                throw LifeboatError(.invalidInput, "unknown compression \"\(text)\"", fix: "use zstd[:LEVEL], gzip[:LEVEL] or none")
            }
            compression = parsed
        }
        let repository = try global.openRepository(policy: policy)
        var runner = BackupRunner(repository: repository, progress: global.progress)
        runner.forceRead = forceRead
        runner.policy = policy
        if let host { runner.host = try HostName.validated(host) }
        runner.name = try name.map { try SnapshotName.validated(name: $0) }
        runner.tags = try tag.map { try SnapshotName.validated(tag: $0) }
        let result =
            try await runner
            .run(
                sources: sources, schedule: scheduleName, compression: compression, policyPath: policy.file,
                command: "lifeboat backup --schedule \(scheduleName)", started: Clock.now())
        if result.clearedTemporaries > 0, !global.quiet {
            Console.note(
                "lifeboat: note: removed \(result.clearedTemporaries) temporar\(result.clearedTemporaries == 1 ? "y" : "ies") left by an interrupted run"
            )
        }
        if let stale = result.staleLock, !global.quiet {
            Console.note("lifeboat: note: took over a stale lock left by \(stale)")
        }
        for component in result.manifest.components {
            for warning in component.warnings where !global.quiet {
                Console.note("lifeboat: warning: \(component.source): \(warning)")
            }
        }
        if global.json {
            try Console.json(SnapshotSummary(result.manifest))
        } else {
            print(result.manifest.name)
            if global.verbose {
                for c in result.manifest.components {
                    Console.note(
                        "  \(c.source): \(c.entryCount) entries, \(ProgressLine.bytes(c.contentBytes)) → \(ProgressLine.bytes(c.bytes)) \(c.compression)"
                    )
                }
                Console.note("  connections opened: \(ConnectionCounter.opened)")
            }
        }
    }
}
