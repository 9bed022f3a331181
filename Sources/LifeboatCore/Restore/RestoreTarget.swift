import Foundation

/// Where a restore writes: one case per kind of target, each with exactly what it needs. Each
/// adapter declares the kinds it accepts (`SourceAdapter.restoreTargets(for:)`); the command
/// line is turned into one in one place (`RestoreTarget.parse`), so a wrong combination is exit
/// 2 listing the targets the source takes, before anything is read.
public enum RestoreTarget: Sendable {
    /// A directory (`--to DIR`): a files tree, a command's stream (`stdout`), Qdrant snapshot
    /// files, PostgreSQL dump files.
    case directory(String)
    /// A Redis server described by its redis.conf (`--to-config`), running or not.
    case redisServer(config: String)
    /// A new Redis server started on the restored RDB in `directory` on `port` (`--to DIR --port P`).
    case scratchServer(directory: String, port: Int)
    /// A PostgreSQL database (`--to-database NAME [--to-host H] [--to-port P]`), created when
    /// absent; host and port default to the source's.
    case database(name: String, host: String?, port: Int?)
    /// A PostgreSQL data directory (`--to-datadir DIR`), recovered as `recovery` says; `port`
    /// (`--port P`) for a scratch copy beside the live server.
    case dataDirectory(String, recovery: RecoveryTarget, port: Int?)
    /// A vector store's API server (`--to-url URL`; nil: the server it was captured from).
    case apiServer(url: String?)
    /// Qdrant fetches the snapshots itself from `location` (`--recover-from PREFIX`).
    case serverFetch(location: String, url: String?)
    /// Chroma directory mode: the server's persist directory (`--to-path DIR`; nil: the
    /// policy's), swapped in while the server is stopped.
    case persistDirectory(String?)
    /// A command source: its stream fed to its restore program (the policy's or the manifest's).
    case program

    /// The kinds, for declaring what an adapter accepts and for messages.
    public enum Kind: String, Sendable, CaseIterable {
        case directory, redisServer, scratchServer, database, dataDirectory, apiServer, serverFetch, persistDirectory, program

        /// How the command line asks for it.
        public var flags: String {
            switch self {
            case .directory: "--to DIR"
            case .redisServer: "--to-config REDIS.CONF"
            case .scratchServer: "--to DIR --port P (a scratch server)"
            case .database: "--to-database NAME [--to-host H] [--to-port P]"
            case .dataDirectory: "--to-datadir DIR [--at TIME | --target-name N] [--port P] [--start]"
            case .apiServer: "[--to-url URL] (default: the server it was captured from)"
            case .serverFetch: "--recover-from PREFIX [--to-url URL]"
            case .persistDirectory: "--policy F [--to-path DIR] (stop, swap, start, check)"
            case .program: "(no target: its restore program)"
            }
        }
    }

    public var kind: Kind {
        switch self {
        case .directory: .directory
        case .redisServer: .redisServer
        case .scratchServer: .scratchServer
        case .database: .database
        case .dataDirectory: .dataDirectory
        case .apiServer: .apiServer
        case .serverFetch: .serverFetch
        case .persistDirectory: .persistDirectory
        case .program: .program
        }
    }

    /// What plans and messages call it.
    public var description: String? {
        switch self {
        case .directory(let path), .dataDirectory(let path, _, _): path
        case .scratchServer(let path, let port): "\(path) (port \(port))"
        case .redisServer(let config): config
        case .database(let name, let host, let port): name + (host.map { " on \($0)" } ?? "") + (port.map { ":\($0)" } ?? "")
        case .apiServer(let url): url
        case .serverFetch(let location, _): location
        case .persistDirectory(let path): path
        case .program: nil
        }
    }

    /// The target flags of `restore`, as given.
    public struct Flags: Sendable {
        public var to: String?
        public var toConfig: String?
        public var port: Int?
        public var toPort: Int?
        public var toDatabase: String?
        public var toHost: String?
        public var toPath: String?
        public var toURL: String?
        public var recoverFrom: String?
        public var toDatadir: String?
        /// PostgreSQL physical: how to recover (from `--at`, `--target-name`, `--start`, …).
        public var recovery: RecoveryTarget?
        public init() {}
    }

    /// The target the flags name for `component`, or exit 2 saying which targets this source
    /// takes and which flag does not belong.
    public static func parse(_ flags: Flags, for component: Manifest.Component) throws -> RestoreTarget {
        let adapter = try SourceAdapters.restoring(component)
        let accepted = adapter.restoreTargets(for: component)
        var named: [(flag: String, target: RestoreTarget)] = []
        if let dir = flags.toDatadir, let recovery = flags.recovery {
            named.append(("--to-datadir", .dataDirectory(FileIO.absolute(dir), recovery: recovery, port: flags.port)))
        }
        if let name = flags.toDatabase { named.append(("--to-database", .database(name: name, host: flags.toHost, port: flags.toPort))) }
        if let config = flags.toConfig { named.append(("--to-config", .redisServer(config: config))) }
        if let location = flags.recoverFrom {
            named.append(("--recover-from", .serverFetch(location: location, url: flags.toURL)))
        } else if let url = flags.toURL {
            named.append(("--to-url", .apiServer(url: url)))
        }
        if let path = flags.toPath { named.append(("--to-path", .persistDirectory(path))) }
        if let dir = flags.to {
            if let port = flags.port, accepted.contains(.scratchServer) {
                named.append(("--to --port", .scratchServer(directory: FileIO.absolute(dir), port: port)))
            } else {
                named.append(("--to", .directory(dir)))
            }
        }
        let what = adapter.restoreDescription(for: component)
        let takes = accepted.map { "  \($0.flags)" }.joined(separator: "\n")
        guard named.count <= 1 else {
            throw LifeboatError(
                .invalidInput, "\(named.map(\.flag).joined(separator: " and ")) name different targets; give one",
                fix: "\(what) restores to one of:\n\(takes)")
        }
        let target: RestoreTarget
        if let given = named.first?.target {
            target = given
        } else if let fallback = adapter.defaultRestoreTarget(for: component) {
            target = fallback
        } else {
            throw LifeboatError(.invalidInput, "restoring \(what) needs a target", fix: "give one of:\n\(takes)")
        }
        guard accepted.contains(target.kind) else {
            throw LifeboatError(
                .invalidInput, "\(what) cannot be restored to \(named.first?.flag ?? "that target")",
                fix: "it restores to one of:\n\(takes)")
        }
        // Flags that only one kind of target reads, given with another.
        let stray: [(String, Bool)] = [
            ("--to-host", flags.toHost != nil && target.kind != .database),
            ("--to-port", flags.toPort != nil && target.kind != .database),
            ("--port", flags.port != nil && ![.scratchServer, .dataDirectory].contains(target.kind)),
        ]
        if let (flag, _) = stray.first(where: \.1) {
            let hint =
                flag == "--port" && target.kind == .database
                ? "the target server's port is --to-port; --port is the port of a server the restore starts; " : ""
            let fix = "\(hint)\(what) restores to one of:\n\(takes)"
            throw LifeboatError(.invalidInput, "\(flag) does not apply to a restore to \(target.kind.flags)", fix: fix)
        }
        return target
    }
}

/// How a restore behaves, whatever its target.
public struct RestoreOptions: Sendable {
    /// Replace a non-empty target (the old content is moved aside, not deleted).
    public var force = false
    /// PostgreSQL physical into an existing data directory of the same system: rewrite only
    /// the files that differ (`--delta`, `DeltaRestore`).
    public var delta = false
    /// PostgreSQL logical: create the roles the target lacks from the snapshot's globals
    /// (`--no-globals` turns it off).
    public var applyGlobals = true
    /// Files sources: restore only these entries (`--include`, `--exclude`); nil: all.
    public var selection: EntrySelection?
    /// PostgreSQL logical into a database: only these tables and schemas (`--table`,
    /// `--schema`: pg_restore's own `-t` and `-n`); empty: all.
    public var tables: [String] = []
    public var schemas: [String] = []
    /// The source as the policy configures it (`--policy`), for targets run by its programs:
    /// Chroma's stop and start commands and path, a command source's restore and check, a vector
    /// store's URL. Drills give their scratch versions instead.
    public var configuredSource: (any SourceAdapter)?
    public var progress: ProgressLine

    public init(force: Bool = false, configuredSource: (any SourceAdapter)? = nil, progress: ProgressLine = ProgressLine(enabled: false)) {
        self.force = force
        self.configuredSource = configuredSource
        self.progress = progress
    }
}
