import Foundation

/// A logical PostgreSQL source is drilled into a scratch database on the source's server (or
/// `target.host`/`target.port`), dropped afterwards; a physical one into a data directory
/// (`target.directory`, `target.port`) recovered to the end of the archive and started, then
/// stopped. Checks: `sql` with `expect` or `compare: live`; failover drills read the
/// `lifeboat_heartbeat` table.
extension PostgresAdapter: DrillHook {
    func scratchDatabase(_ source: DrillPlan.Source, started: Date) -> String? {
        mode == .logical ? source.target.database ?? "lifeboat_drill_\(source.name)_\(Timestamp.compact(started).lowercased())" : nil
    }

    func validateDrillTarget(_ scratch: ScratchTarget) throws {
        if mode == .physical { _ = try requireDirectory(scratch) }
    }

    func drillRestore(_ scratch: ScratchTarget, component: Manifest.Component, repository: Repository, at: String?) throws -> (
        RestoreTarget, RestoreOptions
    ) {
        let target = scratch.source.target
        if mode == .logical {
            return (.database(name: scratch.database ?? database, host: target.host, port: target.port), RestoreOptions())
        }
        let major = PostgresMetadata(component).serverMajor
        scratch.serverTool = try PostgresEndpoint(recordedIn: component).tool("pg_ctl", major: major)
        let kind: RecoveryTarget.Kind = try at.map { try RecoveryTarget.parseTime($0) } ?? .latest
        let recovery = RecoveryTarget(kind: kind, start: true, repository: repository.location, keyFiles: repository.keyFiles)
        return (.dataDirectory(try requireDirectory(scratch), recovery: recovery, port: target.port), RestoreOptions())
    }

    func evaluate(_ check: DrillCheck, _ scratch: ScratchTarget, component: Manifest.Component) throws -> (passed: Bool, detail: String)? {
        switch check {
        case .sql(let query, let expect):
            let got = try scratchSQL(scratch).value(query) ?? "NULL"
            return (got == expect, "got \(got), expected \(expect ?? "")")
        case .sqlCompareLive(let query):
            let got = try scratchSQL(scratch).value(query) ?? "NULL"
            let live = try endpoint.connect(database: database).value(query) ?? "NULL"
            return (got == live, "restored \(got), live \(live)")
        default:
            return nil
        }
    }

    func newestHeartbeat(_ scratch: ScratchTarget) -> Heartbeat? {
        (try? scratchSQL(scratch)).flatMap { try? HeartbeatWriter.newest(in: $0) } ?? nil
    }

    func heartbeatMarks(_ scratch: ScratchTarget, from first: Int64) throws -> [Int64]? {
        try HeartbeatWriter.marks(in: try scratchSQL(scratch), from: first)
    }

    func tearDown(_ scratch: ScratchTarget) {
        let target = scratch.source.target
        if mode == .logical {
            if let name = scratch.database,
                let admin = try? PostgresConnection(
                    host: target.host ?? host, port: target.port ?? port, database: "postgres", user: user,
                    password: try? endpoint.password(), ssl: ssl)
            {
                _ = try? admin.query("DROP DATABASE IF EXISTS \(PostgresConnection.quoteIdentifier(name)) WITH (FORCE)")
            }
        } else if let directory = scratch.directory, let pgCtl = scratch.serverTool {
            var st = stat()
            let asOwner =
                geteuid() == 0 && stat(directory, &st) == 0 && st.st_uid != 0
                ? getpwuid(st.st_uid).map { ["runuser", "-u", String(cString: $0.pointee.pw_name), "--"] } ?? [] : []
            _ = try? ChildProcess.run(asOwner + [pgCtl, "-D", directory, "-m", "immediate", "-w", "stop"], in: "/")
        }
    }

    /// A connection to the restored database: the scratch database, or the recovered cluster
    /// through its socket in the data directory.
    private func scratchSQL(_ scratch: ScratchTarget) throws -> PostgresConnection {
        let target = scratch.source.target
        if mode == .logical {
            return try PostgresConnection(
                host: target.host ?? host, port: target.port ?? port, database: scratch.database ?? database, user: user,
                password: try endpoint.password(), ssl: ssl)
        }
        return try PostgresConnection(
            host: scratch.directory ?? "127.0.0.1", port: target.port ?? port, database: database, user: user, password: try endpoint.password())
    }
}
