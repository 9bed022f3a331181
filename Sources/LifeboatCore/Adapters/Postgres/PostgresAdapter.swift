import Foundation

/// Source type `postgres`.
///
/// Policy keys: `host` (default 127.0.0.1), `port` (5432), `database` (postgres), `user`,
/// `mode` (`logical`, the default, or `physical`), `bin_dir` (client programs; default the
/// server's major version under /usr/lib/postgresql, else PATH), `password_file` (first line;
/// otherwise libpq's own PGPASSWORD/PGPASSFILE/~/.pgpass apply), and TLS with libpq's own names:
/// `sslmode` (`verify-full` checks the CA and the host name), `sslrootcert`, `sslcert`,
/// `sslkey`. The password reaches libpq in memory and the client programs through their
/// environment (`PGPASSWORD`, `PGSSLMODE`, …), never argv, logs or manifests.
///
/// - `logical`: `pg_dump -Fc -Z0` streamed into the pipeline as parts `pg_dump/part-NNNNNN`
///   (our pipeline compresses), plus `pg_dumpall --globals-only` as `globals/part-NNNNNN`; with
///   `jobs: N`, `pg_dump -Fd -j N -Z0` into a scratch directory, stored as `pg_dump.dir/NAME`
///   and restored with `pg_restore -j N`.
/// - `physical`: `pg_basebackup -Ft -D - -Xfetch --checkpoint=fast --manifest-checksums=SHA256`;
///   each file of the server's tar stream becomes one entry, checked against the server's
///   backup manifest as it is stored. WAL comes from `lifeboat wal push` (archive_command).
public struct PostgresAdapter: SourceAdapter {
    public static let type = "postgres"
    public static let settingKeys = ["host", "port", "database", "user", "mode", "bin_dir", "password_file", "wal_method", "jobs"] + PostgresSSL.keys

    public enum Mode: String, Sendable { case logical, physical }
    /// How a base backup gets the WAL that makes it consistent (pg_basebackup's --wal-method):
    /// `fetch` puts it into the backup itself (self-contained, no wait for the archiver; needs
    /// the segments to stay in pg_wal while the backup runs: wal_keep_size on busy servers),
    /// `none` leaves it to the archive (the server waits for its archiver, polling each second).
    public enum WALMethod: String, Sendable { case fetch, none }

    public let name: String
    public var host = "127.0.0.1"
    public var port = 5432
    public var database = "postgres"
    public var user: String?
    public var mode = Mode.logical
    public var binDirectory: String?
    public var passwordFile: String?
    public var walMethod = WALMethod.fetch
    /// Logical: dump this many tables at a time in pg_dump's directory format (`pg_dump -Fd -j N`),
    /// restored with `pg_restore -j N`; nil: one custom-format stream.
    public var jobs: Int?
    public var ssl = PostgresSSL()

    public init(name: String) {
        self.name = name
    }

    public static func configure(name: String, settings: PolicyNode) throws -> PostgresAdapter {
        var adapter = PostgresAdapter(name: name)
        var jobsNode: PolicyNode?
        for (key, value) in try settings.mapping() {
            if try adapter.ssl.apply(key, value, file: settings.file) { continue }
            switch key {
            case "host": adapter.host = try value.string()
            case "port": adapter.port = try value.port()
            case "database": adapter.database = try value.string()
            case "user": adapter.user = try value.string()
            case "bin_dir": adapter.binDirectory = PolicyLoader.resolve(try value.string(), relativeTo: settings.file)
            case "password_file": adapter.passwordFile = PolicyLoader.resolve(try value.string(), relativeTo: settings.file)
            case "jobs":
                let jobs = try value.integer()
                guard (1...64).contains(jobs) else {
                    throw value.error(
                        "jobs must be between 1 and 64, not \(jobs)",
                        fix: "set jobs to the number of tables pg_dump and pg_restore work on at once, e.g. 4")
                }
                adapter.jobs = jobs
                jobsNode = value
            case "wal_method":
                let text = try value.string()
                guard let m = WALMethod(rawValue: text) else {
                    throw value.error(
                        "unknown wal_method \"\(text)\"", fix: "use fetch (WAL inside the base backup) or none (WAL from the archive only)")
                }
                adapter.walMethod = m
            case "mode":
                let text = try value.string()
                guard let m = Mode(rawValue: text) else {
                    throw value.error("unknown mode \"\(text)\"", fix: "use logical (pg_dump) or physical (base backup + WAL archive)")
                }
                adapter.mode = m
            default: break
            }
        }
        if let jobsNode, adapter.mode == .physical {
            throw jobsNode.error(
                "jobs applies to mode: logical (pg_dump -Fd -j N); a physical base backup is one pg_basebackup stream",
                fix: "remove jobs, or use mode: logical")
        }
        return adapter
    }

    /// How to reach the server, shared by capture and restore.
    var endpoint: PostgresEndpoint {
        PostgresEndpoint(host: host, port: port, user: user, passwordFile: passwordFile, binDirectory: binDirectory, ssl: ssl)
    }

    public func capture(into writer: ArchiveWriter, context: CaptureContext) async throws -> CaptureOutcome {
        switch mode {
        case .logical: return try LogicalDump(adapter: self).capture(into: writer, context: context)
        case .physical: return try BaseBackup(adapter: self).capture(into: writer, context: context)
        }
    }

    /// Physical: a data directory, recovered to a point in time. Logical: a database, or the
    /// dump files in a directory.
    public static func restoreTargets(for component: Manifest.Component) -> [RestoreTarget.Kind] {
        isPhysical(component) ? [.dataDirectory] : [.database, .directory]
    }

    public static func restoreDescription(for component: Manifest.Component) -> String {
        "postgres source \"\(component.source)\" (\(isPhysical(component) ? "physical" : "logical"))"
    }

    public static func preflight(_ component: Manifest.Component, to target: RestoreTarget, options: RestoreOptions) throws -> Bool {
        try checkTableSelection(component, to: target, options: options)
        if case .database(let name, let host, let port) = target {
            return try LogicalRestore(component: component, database: name, host: host, port: port, options: options).preflight().occupied > 0
        }
        if case .directory(let directory) = target {
            return try DumpFiles(component: component, directory: FileIO.absolute(directory), force: options.force).preflight()
        }
        if case .dataDirectory(let directory, _, _) = target, options.delta {
            try DeltaRestore(datadir: directory, component: component, progress: options.progress).preflight()
            return false
        }
        return try treePreflight(component, to: target, options: options)
    }

    public static var restoresSelectedTables: Bool { true }

    /// `--table` and `--schema` select what pg_restore restores into a database, and must match
    /// some of the snapshot's tables.
    static func checkTableSelection(_ component: Manifest.Component, to target: RestoreTarget, options: RestoreOptions) throws {
        guard !options.tables.isEmpty || !options.schemas.isEmpty else { return }
        guard target.kind == .database else {
            throw LifeboatError(
                .invalidInput, "--table and --schema select what pg_restore restores into a database (--to-database)",
                fix: isPhysical(component) ? "a physical backup restores the whole cluster" : "add --to-database NAME")
        }
        _ = try LogicalRestore.selectedTables(component, options: options)
    }

    /// Into a database: the roles the restore would create from the snapshot's globals (those
    /// the target lacks), read from the snapshot's globals parts, which come first.
    public static func dryRunNotes(
        _ component: Manifest.Component, from reader: @escaping () throws -> ComponentReader, to target: RestoreTarget,
        options: RestoreOptions
    ) throws -> [String] {
        // `preflight` has checked the server already; only its roles are asked here.
        guard case .database(_, let host, let port) = target, options.applyGlobals else { return [] }
        let admin = try PostgresEndpoint(recordedIn: component, host: host, port: port).connect(database: "postgres")
        let stream = try reader()
        var globals: [UInt8] = []
        while let entry = try stream.next(), SegmentedStream.isPart(entry.record.path, prefix: LogicalDump.globalsPrefix) {
            try stream.readData { globals += $0 }
        }
        let missing = try GlobalsScript(String(decoding: globals, as: UTF8.self)).missingRoles(on: admin)
        return missing.isEmpty
            ? ["the target has every role the snapshot's globals define"]
            : ["would create \(missing.count) role\(missing.count == 1 ? "" : "s") the target lacks: \(missing.joined(separator: ", "))"]
    }

    static func isPhysical(_ component: Manifest.Component) -> Bool { PostgresMetadata(component).isPhysical }

    public static func restore(
        _ component: Manifest.Component, from reader: ComponentReader,
        to target: RestoreTarget, options: RestoreOptions
    ) async throws -> RestoreOutcome {
        try checkTableSelection(component, to: target, options: options)
        switch target {
        case .dataDirectory(let directory, let recovery, let port):
            return try BaseBackupRestore(component: component, datadir: directory, recovery: recovery, port: port, options: options)
                .run(reader: reader)
        case .directory(let directory):
            return try DumpFiles(component: component, directory: directory, force: options.force).write(reader: reader)
        case .database(let name, let host, let port):
            return try LogicalRestore(component: component, database: name, host: host, port: port, options: options).run(reader: reader)
        default:
            throw LifeboatError(.invalidInput, "\(restoreDescription(for: component)) cannot be restored to \(target.kind.flags)")
        }
    }

    public static func componentCheck(for component: Manifest.Component) -> (any ComponentContentCheck)? {
        PostgresMetadata(component).mode == .logical ? DumpReadCheck(component: component) : nil
    }
}

/// A PostgreSQL server and the client programs that match it.
struct PostgresEndpoint: Sendable {
    var host: String
    var port: Int
    var user: String?
    var passwordFile: String?
    var binDirectory: String?
    var ssl = PostgresSSL()

    /// Where the source was (no secret: the password file's path at most, and the TLS files'
    /// paths), for restores.
    var metadata: [String: JSONValue] {
        var m: [String: JSONValue] = ["host": .string(host), "port": .int(Int64(port))]
        for (key, value) in ssl.parameters { m[key] = .string(value) }
        if let user { m["user"] = .string(user) }
        if let passwordFile { m["password_file"] = .string(passwordFile) }
        if let binDirectory { m["bin_dir"] = .string(binDirectory) }
        return m
    }

    /// The endpoint a component was captured from, with a restore's overrides.
    init(recordedIn component: Manifest.Component, host: String? = nil, port: Int? = nil) {
        let m = component.metadata
        self.host = host ?? m["host"]?.stringValue ?? "127.0.0.1"
        self.port = port ?? m["port"]?.intValue.map { Int($0) } ?? 5432
        user = m["user"]?.stringValue
        passwordFile = m["password_file"]?.stringValue
        binDirectory = m["bin_dir"]?.stringValue
        ssl = PostgresSSL(recordedIn: m)
    }

    init(host: String, port: Int, user: String?, passwordFile: String?, binDirectory: String?, ssl: PostgresSSL = PostgresSSL()) {
        self.ssl = ssl
        self.host = host
        self.port = port
        self.user = user
        self.passwordFile = passwordFile
        self.binDirectory = binDirectory
    }

    /// The password from `password_file`, or nil (libpq then reads PGPASSWORD/PGPASSFILE itself).
    func password() throws -> String? {
        guard let passwordFile else { return nil }
        return try SecretFile.password(passwordFile)
    }

    func connect(database: String) throws -> PostgresConnection {
        try PostgresConnection(host: host, port: port, database: database, user: user, password: try password(), ssl: ssl)
    }

    /// Environment for client programs: the password (when from a file), the TLS settings
    /// (`PGSSLMODE`, …), and no prompting.
    func childEnvironment() throws -> [String: String] {
        var env = ssl.environment
        if let password = try password() { env["PGPASSWORD"] = password }
        return env
    }

    /// Connection arguments for client programs (no secret among them).
    var connectionArguments: [String] {
        ["--host", host, "--port", String(port), "--no-password"] + (user.map { ["--username", $0] } ?? [])
    }

    /// The path of client program `name` for server major version `major`: from `bin_dir`,
    /// else `/usr/lib/postgresql/MAJOR/bin`, else PATH; its own major version must match.
    func tool(_ name: String, major: Int) throws -> String {
        let path: String
        if let binDirectory {
            path = binDirectory + "/" + name
        } else if FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\(major)/bin/\(name)") {
            path = "/usr/lib/postgresql/\(major)/bin/\(name)"
        } else {
            path = name
        }
        let toolMajor = try PostgresEndpoint.majorVersion(of: path)
        guard toolMajor == major else {
            throw LifeboatError(
                .invalidInput, "\(path) is PostgreSQL \(toolMajor)'s \(name), but the server runs PostgreSQL \(major)",
                fix: "set bin_dir to PostgreSQL \(major)'s client programs (e.g. /usr/lib/postgresql/\(major)/bin)")
        }
        return path
    }

    /// The major version a client program reports (`pg_dump (PostgreSQL) 15.14 (…)` → 15).
    static func majorVersion(of program: String) throws -> Int {
        let text = try versionText(of: program)
        // "pg_dump (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)": the first number after ")".
        guard let close = text.firstIndex(of: ")"),
            let major = text[close...].split(whereSeparator: { !$0.isNumber }).first.flatMap({ Int($0) })
        else {
            throw LifeboatError(.invalidInput, "cannot read the version of \(program) from \"\(text)\"")
        }
        return major
    }

    /// The full version line of a client program, for the manifest.
    static func versionLine(of program: String) -> String {
        (try? versionText(of: program)) ?? "unknown"
    }

    /// What `program --version` prints, trimmed.
    private static func versionText(of program: String) throws -> String {
        let child = try RunningChild([program, "--version"])
        var text = ""
        try FileIO.forEachChunk(child.output, path: program) { text += String(decoding: $0, as: UTF8.self) }
        try child.waitForSuccess()
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
