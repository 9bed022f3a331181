import Foundation

/// Source type `redis`: a consistent RDB of a Redis server.
///
/// Policy keys: `host` (default 127.0.0.1), `port` (6379), or `socket` (a Unix socket path);
/// `tls: true` with `ca_file`, `cert_file`, `key_file`, `insecure_skip_verify`; `user`, `password_file` or
/// `password_env` (the name of an environment variable; `REDISCLI_AUTH` is read by default),
/// `config` (the server's redis.conf, when the server is local), `method`:
/// - `bgsave` (default; local server): `BGSAVE` (or `BGSAVE SCHEDULE` when one runs), wait until
///   `INFO persistence` shows `rdb_saves` increased and `rdb_last_bgsave_status:ok`, then stream
///   `dir/dbfilename` (the child wrote it whole and renamed it into place);
/// - `replica` (remote server): the replication transfer `redis-cli --rdb` performs
///   (`REPLCONF rdb-only 1`, `SYNC`), which works with an ACL user limited to
///   `+sync +psync +replconf +ping +info`.
/// The RDB is checked while it streams (magic, version, CRC-64 and the structural parse of
/// `RDBCheck`, whose per-database key counts go into the manifest as `rdb_keys`) and stored as
/// entry `dump.rdb`.
public struct RedisAdapter: SourceAdapter {
    public static let type = "redis"
    public static let settingKeys =
        ["host", "port", "socket", "tls", "user", "password_file", "password_env", "config", "method", "timeout"] + TLSKeys.names

    public enum Method: String, Sendable { case bgsave, replica }

    public let name: String
    public var host = "127.0.0.1"
    public var port = 6379
    /// A Unix socket instead of host and port.
    public var socket: String?
    /// nil: plain; set by `tls: true`.
    public var tls: TLSSettings?
    public var user: String?
    public var passwordFile: String?
    public var passwordEnv = "REDISCLI_AUTH"
    public var config: String?
    public var method = Method.bgsave
    /// Longest wait for a BGSAVE or a transfer, in seconds.
    public var timeout: Double = 3600

    public init(name: String) {
        self.name = name
    }

    public static func configure(name: String, settings: PolicyNode) throws -> RedisAdapter {
        var adapter = RedisAdapter(name: name)
        var tls = TLSSettings()
        var useTLS = false
        var tlsKeyNode: PolicyNode?
        for (key, value) in try settings.mapping() {
            if try TLSKeys.apply(key, value, to: &tls, file: settings.file) {
                tlsKeyNode = value
                continue
            }
            switch key {
            case "tls": useTLS = try value.bool()
            case "socket": adapter.socket = PolicyLoader.resolve(try value.string(), relativeTo: settings.file)
            case "host": adapter.host = try value.string()
            case "port": adapter.port = try value.port()
            case "user": adapter.user = try value.string()
            case "password_file": adapter.passwordFile = PolicyLoader.resolve(try value.string(), relativeTo: settings.file)
            case "password_env": adapter.passwordEnv = try value.string()
            case "config": adapter.config = PolicyLoader.resolve(try value.string(), relativeTo: settings.file)
            case "timeout": adapter.timeout = try value.seconds()
            case "method":
                let text = try value.string()
                guard let m = Method(rawValue: text) else {
                    throw value.error("unknown method \"\(text)\"", fix: "use bgsave (local server) or replica")
                }
                adapter.method = m
            default: break
            }
        }
        try TLSKeys.check(tls, in: settings)
        if let tlsKeyNode, !useTLS {
            throw tlsKeyNode.error(
                "TLS keys are given but `tls:` is not true", fix: "add `tls: true` to speak TLS to the server, or drop the TLS keys")
        }
        if useTLS {
            if adapter.socket != nil {
                throw settings.error("`socket:` and `tls: true` together", fix: "a Unix socket is local and plain in Redis: drop one of them")
            }
            adapter.tls = tls
        }
        return adapter
    }

    /// Where the server listens, and how to speak to it.
    public var endpoint: Endpoint {
        if let socket { return Endpoint(.unix(path: socket)) }
        return .tcp(host, port, tls: tls)
    }

    /// The password from `password_file` (first line) or the environment; never from argv.
    func password() throws -> String? {
        if let passwordFile {
            return try SecretFile.password(passwordFile, what: "source \"\(name)\": password_file")
        }
        if let value = ProcessInfo.processInfo.environment[passwordEnv], !value.isEmpty { return value }
        if let config, let conf = try? RedisConfig(path: config) { return conf.requirepass }
        return nil
    }

    func connect(timeout: Double = 10) throws -> RESPClient {
        let client = try RESPClient(endpoint, timeout: timeout)
        try client.authenticate(user: user, password: try password())
        return client
    }

    public func capture(into writer: ArchiveWriter, context: CaptureContext) async throws -> CaptureOutcome {
        let client = try connect()
        let info = try RedisInfo.fetch(client)
        let validator = RDBCheck()
        let savedAt: Date
        switch method {
        case .bgsave: savedAt = try RedisBgsave(adapter: self, client: client).capture(into: writer, validator: validator)
        case .replica: savedAt = try RedisReplicaTransfer(adapter: self).capture(into: writer, validator: validator, context: context)
        }
        try validator.finish()
        var metadata: [String: JSONValue] = [
            "redis_version": .string(info["redis_version"] ?? "unknown"),
            "rdb_version": .int(Int64(validator.version ?? 0)),
            "used_memory": .int(info.int("used_memory") ?? 0),
            "method": .string(method.rawValue),
            "keys": .object(info.keyspace.mapValues { .int($0) }),
            "keys_total": .int(info.keyspace.values.reduce(0, +)),
        ]
        if let summary = validator.summary { metadata["rdb_keys"] = summary.keysMetadata }
        if let config { metadata["config"] = .string(config) }
        return CaptureOutcome(
            metadata: metadata,
            warnings: (validator.checksumDisabled ? ["the server writes RDBs without a checksum (rdbchecksum no)"] : []) + validator.warnings,
            recoveryPoint: savedAt)
    }

    public static func contentCheck(for entry: EntryRecord, in component: Manifest.Component) -> (any EntryContentCheck)? {
        entry.path == "dump.rdb" ? RDBCheck() : nil
    }

    public static func restoreTargets(for component: Manifest.Component) -> [RestoreTarget.Kind] { [.redisServer, .scratchServer] }

    public static func preflight(_ component: Manifest.Component, to target: RestoreTarget, options: RestoreOptions) throws -> Bool {
        guard case .scratchServer(let directory, _) = target else { return false }
        return try RedisRestore.checkScratch(FileIO.absolute(directory), force: options.force)
    }

    public static func restore(
        _ component: Manifest.Component, from reader: ComponentReader,
        to target: RestoreTarget, options: RestoreOptions
    ) async throws -> RestoreOutcome {
        try await RedisRestore(component: component, target: target, options: options).run(reader: reader)
    }
}
