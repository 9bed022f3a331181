import ArgumentParser
import Foundation
import LifeboatCore

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore", abstract: "Restore one source of a snapshot into a target.",
        discussion: """
            files:             restore SNAP --to DIR
            redis:             restore SNAP --to-config redis.conf
                               restore SNAP --to DIR --port P        (scratch server)
            postgres logical:  restore SNAP --to-database NAME [--to-host H --to-port P]
                               restore SNAP --to DIR                 (dump files)
            postgres physical: restore --source S --at TIME|latest --to-datadir DIR
                                 [--port P] [--start]
                               (SNAP instead of --at: the base backup's own end;
                               --target-name N: a restore point)
            chroma directory:  restore SNAP --source S --policy F [--to-path DIR]
                               (stop, swap, start, check)
            chroma logical:    restore SNAP --source S [--to-url URL] [--force]
            qdrant:            restore SNAP --source S [--policy F] [--force]
                                 [--to-url URL | --recover-from PREFIX | --to DIR]
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Snapshot name, id prefix or `latest` (optional with --at).")
    var snapshot: String?

    @Option(name: .long, help: "The source to restore (optional when the snapshot has one).")
    var source: String?

    @Option(name: .long, help: "Target directory (files; redis scratch server with --port; postgres logical: write the dump files there).")
    var to: String?

    @Option(name: .customLong("to-config"), help: "Redis: the target server's redis.conf (running or not).")
    var toConfig: String?

    @Option(name: .long, help: "Port of a server the restore starts (redis scratch server; postgres --to-datadir).")
    var port: Int?

    @Option(name: .customLong("to-port"), help: "PostgreSQL logical: the target server's port (default: the source's).")
    var toPort: Int?

    @Option(name: .customLong("to-database"), help: "PostgreSQL logical: database to restore into (created when absent).")
    var toDatabase: String?

    @Option(name: .customLong("to-host"), help: "PostgreSQL logical: target server host (default: the source's).")
    var toHost: String?

    @Option(name: .customLong("to-path"), help: "Chroma: the persist directory to restore (default: the policy's path).")
    var toPath: String?

    @Option(name: .customLong("to-url"), help: "Chroma logical: the server to re-add the collections to (default: the source's).")
    var toURL: String?

    @Option(
        name: .customLong("recover-from"),
        help: "Qdrant: have the server fetch PREFIX/{collection}.snapshot itself (http(s):// or file://) instead of uploading.")
    var recoverFrom: String?

    @Option(name: .long, help: "The policy that defines the source (Chroma: its stop/start commands and path).")
    var policy: String?

    @Option(name: .customLong("plan"), help: "Whole system: restore every source of this plan (drill-plan shape: sources with targets) to --at TIME.")
    var targetsPlan: String?

    @Option(name: .customLong("to-datadir"), help: "PostgreSQL physical: data directory to restore into (new or empty unless --force).")
    var toDatadir: String?

    @Option(
        name: .long,
        help:
            "Point in time (RFC 3339 with zone, e.g. 2026-11-22T10:15:00.250Z) or `latest`: picks the newest snapshot at or before it; PostgreSQL physical replays WAL up to it."
    )
    var at: String?

    @Option(name: .customLong("target-name"), help: "PostgreSQL physical: recover to a restore point made with pg_create_restore_point().")
    var targetName: String?

    @Flag(name: .customLong("no-globals"), help: "PostgreSQL logical: do not create the roles the target lacks from the snapshot's globals.")
    var noGlobals = false

    @Flag(
        name: .long,
        help: "PostgreSQL physical: start the server, wait for recovery to end and report the point reached (run as the cluster's owner).")
    var start = false

    @Flag(
        name: .customLong("keep-archiving"),
        help:
            "PostgreSQL physical: keep archive_mode in the restored cluster (off by default, so a copy never archives into the source's repository).")
    var keepArchiving = false

    @Option(name: .long, help: "PostgreSQL physical: WAL segments restore_command keeps downloaded ahead of replay (default 8; 0: none).")
    var walPrefetch: Int?

    @Option(name: .long, help: "Files: restore only entries matching GLOB, by path or base name (repeatable).")
    var include: [String] = []

    @Option(name: .long, help: "Files: leave out entries matching GLOB (repeatable).")
    var exclude: [String] = []

    @Option(name: .long, help: "PostgreSQL logical: restore only this table (pg_restore -t; repeatable).")
    var table: [String] = []

    @Option(name: .long, help: "PostgreSQL logical: restore only this schema (pg_restore -n; repeatable).")
    var schema: [String] = []

    @Flag(name: .long, help: "Replace a non-empty target; its content is moved aside, not deleted.")
    var force = false

    @Flag(
        name: .long,
        help:
            "PostgreSQL physical: bring an existing data directory of the same system (stopped) to the backup, rewriting only the files that differ."
    )
    var delta = false

    @Flag(name: .long, help: "Show the plan and change nothing.")
    var dryRun = false

    @Option(name: .long, help: "With --plan: sources restored at once (default 4; 1: one after another).")
    var parallel: Int = 4

    func validate() throws {
        if targetsPlan != nil && (at == nil || snapshot != nil) {
            throw ValidationError("--plan restores the whole system to a point in time: give --at TIME (or latest) and no snapshot")
        }
        if parallel < 1 { throw ValidationError("--parallel takes 1 or more") }
        if snapshot == nil && at == nil {
            throw ValidationError("name a snapshot (or `latest`), or give --at TIME")
        }
    }

    func run() async throws {
        if let targetsPlan, let at { return try await restoreSystem(planPath: targetsPlan, at: at) }
        let loaded = try policy.map { try PolicyLoader.load(path: $0) }
        let repository = try global.openRepository(policy: loaded)
        try await RepositoryLock.reading(repository, command: "lifeboat restore", warn: global.warn) {
            try await restore(from: repository, policy: loaded)
        }
    }

    private func restore(from repository: Repository, policy loaded: Policy?) async throws {
        let atKind = try at.map { try RecoveryTarget.parseTime($0) }
        var (plan, manifest) = try RestorePlan.make(
            repository: repository, selector: snapshot.map { SnapshotSelector($0) },
            source: source, target: nil, at: atKind?.instant)
        guard let component = manifest.component(plan.source) else { throw LifeboatError(.integrity, "snapshot \(manifest.name) lost its source") }
        let adapter = try SourceAdapters.restoring(component)
        // The target, parsed and validated in one place (RestoreTarget.parse): a wrong
        // combination is exit 2 listing what this source restores to.
        var flags = RestoreTarget.Flags()
        (flags.to, flags.toConfig, flags.port, flags.toPort) = (to, toConfig, port, toPort)
        (flags.toDatabase, flags.toHost, flags.toPath, flags.toURL) = (toDatabase, toHost, toPath, toURL)
        (flags.recoverFrom, flags.toDatadir) = (recoverFrom, toDatadir)
        if toDatadir != nil {
            flags.recovery = RecoveryTarget(
                kind: targetName.map { .name($0) } ?? atKind ?? .immediate, start: start, keepArchiving: keepArchiving,
                repository: repository.location, keyFiles: repository.keyFiles)
            if let walPrefetch {
                guard (0...64).contains(walPrefetch) else {
                    throw LifeboatError(.invalidInput, "--wal-prefetch \(walPrefetch) is out of range", fix: "give 0 (no prefetch) to 64 segments")
                }
                flags.recovery?.prefetch = walPrefetch
            }
        }
        let target = try RestoreTarget.parse(flags, for: component)
        if case .dataDirectory(_, let recovery, _) = target {
            try plan.planRecovery(recovery, component: component, archive: WALArchive(repository: repository))
        } else if let flag = [
            ("--start", start), ("--keep-archiving", keepArchiving), ("--target-name", targetName != nil), ("--wal-prefetch", walPrefetch != nil),
        ]
        .first(where: \.1)?.0 {
            throw LifeboatError(
                .invalidInput, "\(flag) applies to a point-in-time restore (--to-datadir) only",
                fix: "\(adapter.restoreDescription(for: component)) restores to: "
                    + adapter.restoreTargets(for: component).map(\.flags).joined(separator: "; "))
        }
        plan.target = target.description
        var options = RestoreOptions(force: force, configuredSource: nil, progress: global.progress)
        options.applyGlobals = !noGlobals
        if delta {
            guard case .dataDirectory = target else {
                throw LifeboatError(
                    .invalidInput, "--delta applies to a PostgreSQL physical restore into a data directory (--to-datadir) only",
                    fix: "drop --delta, or restore a physical PostgreSQL snapshot with --to-datadir")
            }
            guard !force else {
                throw LifeboatError(
                    .invalidInput, "--delta and --force ask for two things: rewrite the directory in place, or move it aside",
                    fix: "give one of them")
            }
            options.delta = true
        }
        if !table.isEmpty || !schema.isEmpty {
            guard adapter.restoresSelectedTables else {
                throw LifeboatError(
                    .invalidInput,
                    "--table and --schema select tables of a PostgreSQL logical restore; \(adapter.restoreDescription(for: component)) is restored whole"
                )
            }
            (options.tables, options.schemas) = (table, schema)
        }
        if !include.isEmpty || !exclude.isEmpty {
            guard adapter.restoresSelectedEntries else {
                throw LifeboatError(
                    .invalidInput,
                    "--include and --exclude select entries of files sources; \(adapter.restoreDescription(for: component)) is restored whole",
                    fix: "restore it whole, or use `lifeboat dump SNAP --source \(plan.source) PATH` for one entry")
            }
            let selection = EntrySelection(include: include, exclude: exclude)
            options.selection = selection
            plan.selectedEntries = try selection.selected(in: component)?.count
        }
        if dryRun {
            // The same refusals the restore would give, now: a dry run never says yes to them.
            plan.movesAside = try adapter.preflight(component, to: target, options: options) ? true : nil
            var notes = try adapter.dryRunNotes(
                component, from: { try ComponentReader(repository: repository, snapshot: manifest, component: component) }, to: target,
                options: options)
            if delta, let directory = target.description {
                notes.append(
                    "delta: \(directory) is a stopped data directory of the same system; only the files whose size or SHA-256 differ from the backup's are rewritten, and what the backup lacks is removed"
                )
            }
            plan.notes = notes.isEmpty ? nil : notes
            if global.json {
                try Console.json(plan)
            } else {
                print("would restore \(plan.source) (\(plan.type)) from \(plan.snapshot) [\(plan.id.prefix(8))]")
                print("  recovery point \(plan.recoveryPoint)" + (plan.recoveryTarget.map { ", then replay WAL to: \($0)" } ?? ""))
                print(
                    "  read \(ProgressLine.bytes(plan.storedBytes)) from \(plan.file), write \(plan.selectedEntries.map { "\($0) of \(plan.entries)" } ?? "\(plan.entries)") entries"
                        + (plan.selectedEntries == nil ? ", \(ProgressLine.bytes(plan.contentBytes))" : "")
                )
                if let wal = plan.wal {
                    print("  WAL \(wal.first) … \(wal.last): \(wal.files) archived files, \(ProgressLine.bytes(wal.bytes))")
                }
                print("  into \(plan.target ?? "(no target given)")")
                for note in plan.notes ?? [] { print("  \(note)") }
                if plan.movesAside == true, let shown = plan.target {
                    if options.selection != nil {
                        print(
                            "  the selected entries that exist there are moved aside (PATH.lifeboat-previous-<time>; --force); nothing else changes")
                    } else if target.kind == .database {
                        print("  the database's objects are replaced (--force: pg_restore --clean --if-exists)")
                    } else {
                        print("  its current content is moved aside to \(shown).lifeboat-previous-<time> (--force; kept, not deleted)")
                    }
                }
            }
            return
        }
        let configured = loaded?.sources.first { $0.name == plan.source }
        if let loaded, configured == nil {
            throw LifeboatError(
                .invalidInput, "policy \(policy ?? "") has no source \"\(plan.source)\"",
                fix: "sources in it: \(loaded.sources.map(\.name).joined(separator: ", "))")
        }
        options.configuredSource = configured
        let outcome = try await Restorer(repository: repository).run(plan: plan, manifest: manifest, to: target, options: options)
        if global.json {
            struct Result: Encodable {
                var plan: RestorePlan
                var outcome: RestoreOutcome
            }
            try Console.json(Result(plan: plan, outcome: outcome))
        } else if !global.quiet {
            print(
                "restored \(plan.source) from \(plan.snapshot): \(outcome.entries) entries, \(ProgressLine.bytes(outcome.bytes)) into \(outcome.target)"
            )
            if let moved = outcome.previousMovedTo { print("previous content moved to \(moved)") }
            if let point = outcome.recoveryPoint { print("recovery point reached: \(point)") }
            for check in outcome.checks { print("  \(check)") }
        }
    }

    /// `restore --at TIME --policy F --plan TARGETS.yaml [--dry-run]`.
    private func restoreSystem(planPath: String, at: String) async throws {
        _ = try RecoveryTarget.parseTime(at)
        var plan = try DrillPlan.load(path: planPath)
        if let policy { plan.policyPath = policy }
        let loaded = try PolicyLoader.load(path: plan.policyPath)
        let repository = try global.openRepository(policy: loaded)
        let started = Date()
        let results = try await RepositoryLock.reading(repository, command: "lifeboat restore --at \(at)", warn: global.warn) {
            var restore = SystemRestore(plan: plan, policy: loaded, repository: repository, at: at, progress: global.progress)
            restore.parallel = parallel
            return try await restore.run(dryRun: dryRun)
        }
        let seconds = (Date().timeIntervalSince(started) * 1000).rounded() / 1000
        if global.json {
            struct Result: Encodable {
                var at: String
                var dry_run: Bool
                var seconds: Double?
                var sources: [SystemRestore.SourceResult]
            }
            try Console.json(Result(at: at, dry_run: dryRun, seconds: dryRun ? nil : seconds, sources: results))
            return
        }
        func s(_ v: Double?) -> String { v.map { String(format: "%.3f s", $0) } ?? "—" }
        print(
            "\(dryRun ? "would restore" : "restored") \(results.count) sources to \(at)"
                + (dryRun ? ":" : " in \(s(seconds)), up to \(parallel) at once:"))
        for r in results {
            print("  \(r.source) (\(r.type)) from \(r.snapshot) → \(r.target ?? "?")")
            print(
                "    recovery point \(r.recoveryPoint ?? "—"), skew \(s(r.skewSeconds)); read \(ProgressLine.bytes(r.storedBytes))"
                    + (r.wal.map { " + WAL \($0.first) … \($0.last) (\($0.files) files, \(ProgressLine.bytes($0.bytes)))" } ?? "")
                    + (r.restoreSeconds.map { "; restored in \(s($0))" } ?? "")
                    + (r.pastDrillSeconds.map { "; the last drill restored it in \(String(format: "%.1f s", $0))" } ?? ""))
        }
    }
}
