import Foundation

/// One source's scratch target during a drill: how to restore into it, how to run checks
/// against it, and how to remove it afterwards.
/// Also the target of a whole-system restore (`SystemRestore`), which keeps it.
final class ScratchTarget {
    let source: DrillPlan.Source
    /// pg_ctl of the restored cluster's version (physical PostgreSQL), to stop it afterwards.
    private var pgCtl: String?
    let configured: any SourceAdapter
    let type: String
    let directory: String?
    let database: String?

    init(source: DrillPlan.Source, configured: any SourceAdapter, started: Date) throws {
        self.source = source
        self.configured = configured
        type = Swift.type(of: configured).type
        directory = source.target.directory.map(FileIO.absolute)
        switch configured {
        case let pg as PostgresAdapter where pg.mode == .logical:
            database = source.target.database ?? "lifeboat_drill_\(source.name)_\(Timestamp.compact(started).lowercased())"
        default:
            database = nil
        }
        let needsDirectory =
            configured is FilesAdapter || configured is RedisAdapter
            || (configured as? ChromaAdapter)?.mode == .directory || (configured as? PostgresAdapter)?.mode == .physical
        if needsDirectory && directory == nil {
            throw LifeboatError(.invalidInput, "drill source \"\(source.name)\" (\(type)) needs target.directory")
        }
        if configured is CommandAdapter && source.target.restore == nil && directory == nil {
            throw LifeboatError(
                .invalidInput,
                "drill source \"\(source.name)\" (command) needs target.restore (a program fed the stream, e.g. into a scratch server) or target.directory",
                fix:
                    "add e.g. target: {restore: [\"sh\", \"-c\", \"cat > {directory}/dump.rdb\"], check: [\"test\", \"-s\", \"{directory}/dump.rdb\"], directory: /srv/drill/x}"
            )
        }
        if type == RedisAdapter.type && source.target.port == nil {
            throw LifeboatError(.invalidInput, "drill source \"\(source.name)\" (redis) needs target.port for its scratch server")
        }
    }

    /// The restore request that puts the snapshot into this target.
    func request(component: Manifest.Component, repository: Repository, at: String?) throws -> RestoreRequest {
        switch configured {
        case is FilesAdapter:
            return RestoreRequest(directory: directory)
        case is RedisAdapter:
            return RestoreRequest(directory: directory, port: source.target.port)
        case let pg as PostgresAdapter where pg.mode == .logical:
            return RestoreRequest(port: source.target.port, database: database, host: source.target.host)
        case is PostgresAdapter:
            let major = Int(component.metadata["server_major"]?.intValue ?? 0)
            pgCtl = try PostgresEndpoint(recordedIn: component).tool("pg_ctl", major: major)
            let kind: RecoveryTarget.Kind = try at.map { try RecoveryTarget.parseTime($0) } ?? .latest
            return RestoreRequest(
                port: source.target.port, dataDirectory: directory,
                recovery: RecoveryTarget(kind: kind, start: true, repository: repository.location, keyFiles: repository.keyFiles))
        case let command as CommandAdapter:
            // Never the policy's restore and check: they point at the production store.
            guard let restore = source.target.restore else { return RestoreRequest(directory: directory) }
            if let directory { try FileIO.makeDirectory(directory, mode: 0o700) }
            var scratch = command
            scratch.shell = false  // the plan's programs are argv lists
            scratch.restore = restore.map(expand)
            scratch.check = source.target.check?.map(expand)
            return RestoreRequest(configuredSource: scratch)
        case let chroma as ChromaAdapter where chroma.mode == .directory:
            guard let port = source.target.port, let start = source.target.start, let stop = source.target.stop else {
                throw LifeboatError(
                    .invalidInput, "drill source \"\(source.name)\" (chroma) needs target.port, target.start and target.stop for its scratch server")
            }
            var scratch = ChromaAdapter(name: chroma.name)
            scratch.url = "http://127.0.0.1:\(port)"
            scratch.path = directory
            scratch.start = expand(start)
            scratch.stop = expand(stop)
            return RestoreRequest(directory: directory, url: scratch.url, configuredSource: scratch)
        default:
            guard let url = source.target.url else {
                throw LifeboatError(.invalidInput, "drill source \"\(source.name)\" (\(type)) needs target.url: the scratch server to restore into")
            }
            return RestoreRequest(url: url, force: false)
        }
    }

    private func expand(_ command: String) -> String {
        command.replacingOccurrences(of: "{directory}", with: directory ?? "")
            .replacingOccurrences(of: "{port}", with: source.target.port.map(String.init) ?? "")
    }

    /// Runs one check; returns whether it passed and what was seen.
    func evaluate(_ check: DrillCheck, component: Manifest.Component) -> (Bool, String) {
        do {
            switch check {
            case .sql(let query, let expect):
                let got = try scratchSQL().value(query) ?? "NULL"
                return (got == expect, "got \(got), expected \(expect ?? "")")
            case .sqlCompareLive(let query):
                let got = try scratchSQL().value(query) ?? "NULL"
                guard let pg = configured as? PostgresAdapter else { return (false, "not a postgres source") }
                let live = try pg.endpoint.connect(database: pg.database).value(query) ?? "NULL"
                return (got == live, "restored \(got), live \(live)")
            case .redisKeys:
                let client = try RESPClient(host: "127.0.0.1", port: source.target.port ?? 0)
                let keys = try RedisInfo.fetch(client).keyspace.values.reduce(0, +)
                let recorded = component.metadata["keys_total"]?.intValue ?? -1
                return (keys == recorded, "\(keys) keys, the snapshot recorded \(recorded)")
            case .redisDigest(let expect):
                let scratch = try RESPClient(host: "127.0.0.1", port: source.target.port ?? 0).expect("DEBUG", "DIGEST").text ?? ""
                let wanted: String
                if let expect {
                    wanted = expect
                } else {
                    guard let redis = configured as? RedisAdapter else { return (false, "not a redis source") }
                    wanted = try redis.connect().expect("DEBUG", "DIGEST").text ?? ""
                }
                return (scratch == wanted, "restored \(scratch), \(expect == nil ? "live" : "expected") \(wanted)")
            case .filesEntries:
                guard let directory else { return (false, "no directory") }
                let count = Self.countEntries(directory)
                return (count == component.entryCount, "\(count) entries, the snapshot has \(component.entryCount)")
            }
        } catch let error as LifeboatError {
            return (false, error.message)
        } catch {
            return (false, "\(error)")
        }
    }

    private func scratchSQL() throws -> PostgresConnection {
        guard let pg = configured as? PostgresAdapter else { throw LifeboatError(.invalidInput, "an sql check on a \(type) source") }
        if pg.mode == .logical {
            return try PostgresConnection(
                host: source.target.host ?? pg.host, port: source.target.port ?? pg.port,
                database: database!, user: pg.user, password: try pg.endpoint.password(), ssl: pg.ssl)
        }
        return try PostgresConnection(
            host: directory ?? "127.0.0.1", port: source.target.port ?? pg.port, database: pg.database,
            user: pg.user, password: try pg.endpoint.password())
    }

    /// The newest heartbeat the recovered target holds (failover drills), if any.
    func newestHeartbeat() -> Date? {
        switch configured {
        case is PostgresAdapter: return (try? scratchSQL()).flatMap { try? HeartbeatWriter.newest(in: $0) } ?? nil
        case is RedisAdapter:
            return (try? RESPClient(host: "127.0.0.1", port: source.target.port ?? 0)).flatMap { try? HeartbeatWriter.newest(in: $0) } ?? nil
        default: return nil
        }
    }

    /// Entries below `directory`, counting the directory itself (`.`) as the snapshot does.
    static func countEntries(_ directory: String) -> Int {
        var count = 1
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while enumerator?.nextObject() != nil { count += 1 }
        return count
    }

    /// Stops what the drill started and removes what it created.
    func tearDown() {
        switch configured {
        case is RedisAdapter:
            if let port = source.target.port { _ = try? RESPClient(host: "127.0.0.1", port: port, timeout: 5).call("SHUTDOWN", "NOSAVE") }
        case let pg as PostgresAdapter where pg.mode == .logical:
            if let database,
                let admin = try? PostgresConnection(
                    host: source.target.host ?? pg.host, port: source.target.port ?? pg.port,
                    database: "postgres", user: pg.user, password: try? pg.endpoint.password(),
                    ssl: pg.ssl)
            {
                _ = try? admin.query("DROP DATABASE IF EXISTS \(PostgresConnection.quoteIdentifier(database)) WITH (FORCE)")
            }
        case is PostgresAdapter:
            if let directory, let bin = pgCtl {
                var st = stat()
                let asOwner =
                    geteuid() == 0 && stat(directory, &st) == 0 && st.st_uid != 0
                    ? getpwuid(st.st_uid).map { ["runuser", "-u", String(cString: $0.pointee.pw_name), "--"] } ?? [] : []
                _ = try? ChildProcess.run(asOwner + [bin, "-D", directory, "-m", "immediate", "-w", "stop"], in: "/")
            }
        case is ChromaAdapter, is CommandAdapter:
            if let stop = source.target.stop { _ = try? ChildProcess.run(["/bin/sh", "-c", expand(stop)], in: "/") }
        default: break
        }
        if let directory {
            try? FileManager.default.removeItem(atPath: directory)
            let parent = (directory as NSString).deletingLastPathComponent
            for name in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
            where name.hasPrefix((directory as NSString).lastPathComponent + ".lifeboat-") {
                try? FileManager.default.removeItem(atPath: parent + "/" + name)
            }
        }
    }
}
