import Foundation

/// Restores a base backup into a data directory (`--to-datadir`) and prepares point-in-time
/// recovery: the files are restored and proven through `FileTreeRestore` (staging directory,
/// swapped in only when complete), then `recovery.signal` and the recovery settings are written
/// to `postgresql.auto.conf` (restore_command = `lifeboat wal fetch`, the target,
/// `recovery_target_action = promote`). With `start`, the server is started with `pg_ctl` (as
/// root, through `runuser` as the user the restored files belong to: PostgreSQL refuses root),
/// and the restore waits until recovery has ended and the server is promoted, then reports the
/// recovery point it reached.
struct BaseBackupRestore {
    let component: Manifest.Component
    let datadir: String
    let recovery: RecoveryTarget
    /// A port of its own (`--port P`): the socket moves into the data directory too.
    let port: Int?
    let options: RestoreOptions

    func run(reader: ComponentReader) throws -> RestoreOutcome {
        let recorded = PostgresMetadata(component)
        let major = recorded.serverMajor
        let pgCtl = recovery.start ? try PostgresEndpoint(recordedIn: component).tool("pg_ctl", major: major) : nil
        let began = Date()
        var outcome =
            options.delta
            ? try DeltaRestore(datadir: datadir, component: component, progress: options.progress).run(reader: reader)
            : try FileTreeRestore(target: datadir, force: options.force, progress: options.progress).run(reader: reader)
        let target = outcome.target
        guard chmod(target, 0o700) == 0 else { throw LifeboatError.system("cannot chmod", path: target) }
        for dir in ["pg_wal", "pg_wal/archive_status"] where !FileIO.exists("\(target)/\(dir)") {
            guard mkdir("\(target)/\(dir)", 0o700) == 0 else { throw LifeboatError.system("cannot create", path: "\(target)/\(dir)") }
        }
        let owner = recovery.start ? try clusterOwner(datadir: target) : nil
        try writeRecoverySettings(recovery, datadir: target, port: port)
        if let owner { try Self.chownTree(target, to: owner) }
        outcome.checks.append("recovery settings written: target \(recovery.summary), restore_command from \(recovery.repository)")
        if !recovery.keepArchiving { outcome.checks.append("archive_mode = off in the restored cluster (add --keep-archiving to keep it)") }
        guard let pgCtl else {
            outcome.checks.append("start it with: pg_ctl -D \(target) start (as the cluster's owner); it recovers, then promotes")
            return outcome
        }
        outcome.addPhase("restore", since: began)
        let replayStarted = Date()
        let reached = try startAndWait(
            pgCtl: pgCtl, datadir: target, port: port ?? recorded.port ?? 5432,
            owner: owner)
        outcome.addPhase("wal replay", since: replayStarted)
        WALPrefetch(queue: "\(target)/pg_wal/\(WALPrefetch.folder)", count: 0).remove()  // recovery has ended
        outcome.recoveryPoint = reached.point
        outcome.checks.append(
            "recovery ended and the server was promoted on timeline \(reached.timeline); last replayed commit \(reached.point ?? "none (the base backup's end)")"
        )
        return outcome
    }

    private func writeRecoverySettings(_ recovery: RecoveryTarget, datadir: String, port: Int?) throws {
        let settings = recovery.settings(executable: Self.executablePath, port: port, socketDirectory: port == nil ? nil : datadir)
        let autoConf = "\(datadir)/postgresql.auto.conf"
        var text = (try? String(contentsOfFile: autoConf, encoding: .utf8)) ?? ""
        if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
        text += "# lifeboat restore of \(component.source): recovery to \(recovery.summary)\n"
        for (key, value) in settings {
            text += "\(key) = '\(value.replacingOccurrences(of: "'", with: "''"))'\n"
        }
        try FileIO.writeAtomically(Array(text.utf8), to: autoConf, mode: 0o600)
        unlink("\(datadir)/standby.signal")
        try FileIO.writeAtomically([], to: "\(datadir)/recovery.signal", mode: 0o600)
        if !FileIO.exists("\(datadir)/postgresql.conf") {
            throw LifeboatError(
                .invalidInput,
                "the base backup has no postgresql.conf (Debian keeps it in /etc/postgresql); the data is restored in \(datadir) but cannot start as it is",
                fix: "copy the cluster's configuration into \(datadir), or start it with -c config_file=…")
        }
    }

    /// This program's absolute path, for restore_command.
    static var executablePath: String { ChildProcess.currentExecutable }

    /// Starts the server, waits for the end of recovery, and reads where it ended.
    private func startAndWait(pgCtl: String, datadir: String, port: Int, owner: (uid: uid_t, gid: gid_t, name: String)?) throws -> (
        point: String?, timeline: Int
    ) {
        let log = "\(datadir)/lifeboat-recovery.log"
        let asOwner = owner.map { ["runuser", "-u", $0.name, "--"] } ?? []
        let code = try ChildProcess.run(asOwner + [pgCtl, "--pgdata", datadir, "--log", log, "--no-wait", "start"], in: datadir)
        guard code == 0 else {
            throw LifeboatError(.operationFailed, "pg_ctl start failed (exit \(code)): \(Self.tail(of: log))")
        }
        let endpoint = PostgresEndpoint(recordedIn: component, host: self.port == nil ? "127.0.0.1" : datadir, port: port)
        let database = PostgresMetadata(component).database ?? "postgres"
        let started = Date()
        while true {
            if let connection = try? endpoint.connect(database: database),
                try connection.value("SELECT pg_is_in_recovery()") == "f"
            {
                let point = try connection.value(
                    """
                    SELECT to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                    """)
                let timeline = Int(try connection.value("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)") ?? "", radix: 16) ?? 0
                options.progress.clear()
                return (point, timeline)
            }
            if !Self.postmasterRunning(datadir: datadir) && Date().timeIntervalSince(started) > 2 {
                options.progress.clear()
                throw LifeboatError(
                    .operationFailed, "the restored server stopped during recovery: \(Self.tail(of: log))",
                    fix: "a time past the end of the archived WAL cannot be reached; see \(log)")
            }
            options.progress.update("recovering \(component.source) in \(datadir): \(Int(Date().timeIntervalSince(started))) s")
            usleep(200_000)
        }
    }

    /// As root: the user the restored files belong to (the cluster's owner, from the backup's
    /// tar headers), who will run the server; PostgreSQL refuses root. Not root: nil (we run it).
    private func clusterOwner(datadir: String) throws -> (uid: uid_t, gid: gid_t, name: String)? {
        guard geteuid() == 0 else { return nil }
        var st = stat()
        guard stat("\(datadir)/PG_VERSION", &st) == 0, st.st_uid != 0, let pw = getpwuid(st.st_uid) else {
            throw LifeboatError(
                .invalidInput, "PostgreSQL refuses to run as root, and the restored files belong to root",
                fix: "run the restore as the cluster's owner, e.g. runuser -u postgres -- lifeboat restore …")
        }
        return (st.st_uid, st.st_gid, String(cString: pw.pointee.pw_name))
    }

    /// Gives the data directory and what the restore created in it to the cluster's owner.
    static func chownTree(_ datadir: String, to owner: (uid: uid_t, gid: gid_t, name: String)) throws {
        for path in [
            datadir, "\(datadir)/pg_wal", "\(datadir)/pg_wal/archive_status", "\(datadir)/postgresql.auto.conf", "\(datadir)/recovery.signal",
        ]
        where FileIO.exists(path) {
            guard lchown(path, owner.uid, owner.gid) == 0 else { throw LifeboatError.system("cannot chown", path: path) }
        }
    }

    /// Whether `postmaster.pid` names a live process.
    static func postmasterRunning(datadir: String) -> Bool {
        guard let text = try? String(contentsOfFile: "\(datadir)/postmaster.pid", encoding: .utf8),
            let pid = text.split(separator: "\n").first.flatMap({ Int32($0) })
        else { return false }
        return kill(pid, 0) == 0
    }

    /// The last lines of a log, for error messages.
    static func tail(of path: String, lines: Int = 6) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "(no log at \(path))" }
        return text.split(separator: "\n").suffix(lines).joined(separator: " | ")
    }
}
