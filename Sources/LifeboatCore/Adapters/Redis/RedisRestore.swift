import Foundation

/// Restores an RDB into a Redis server described by its redis.conf (running or not), or into a
/// fresh scratch server (`--to DIR --port P`), without the AOF trap: with `appendonly yes` and no
/// matching AOF, Redis ignores the RDB and starts empty. So:
/// 1. the new RDB is written beside the old one and checked (manifest SHA-256, RDB CRC and
///    structure, see `RDBCheck`) while the server still runs; 2. `SHUTDOWN NOSAVE`; 3. the old RDB and the AOF directory are moved
///    aside (kept, not deleted) and the new RDB renamed into place; 4. the server is started with
///    AOF off and waited for until loading ends; 5. if the config wants AOF, `CONFIG SET
///    appendonly yes` and wait for the rewrite; 6. the per-database key counts are compared with the parse's.
struct RedisRestore {
    let component: Manifest.Component
    let target: RestoreTarget
    let options: RestoreOptions

    func run(reader: ComponentReader) async throws -> RestoreOutcome {
        let configPath = try targetConfig()
        var conf = try RedisConfig(path: configPath)
        if let live = try? liveFiles(conf) {  // a running server knows where its files really are
            conf.dir = live.dir
            conf.dbfilename = live.dbfilename
        }
        try checkVersion()
        let began = Date()
        try FileIO.makeDirectory(conf.dir)
        let staged = "\(conf.dir)/.\(conf.dbfilename).lifeboat-\(Hex.random(bytes: 4))"
        let (bytes, summary) = try stage(reader: reader, to: staged)
        let parsedAt = Date()
        var checks = ["RDB structure parsed: \(summary.keys) keys in \(summary.databases.count) database\(summary.databases.count == 1 ? "" : "s")"]
        checks += summary.warnings.map { "warning: \($0)" }
        var wasRunning = false
        do {
            wasRunning = try shutdownIfRunning(conf)
            checks.append(wasRunning ? "stopped the running server (SHUTDOWN NOSAVE)" : "server was not running")
        } catch {
            unlink(staged)
            throw error
        }
        var previous: String?
        if FileIO.exists(conf.rdbPath) {
            previous = FileIO.asideName(for: conf.rdbPath)
            try FileIO.rename(conf.rdbPath, previous!)
        }
        try FileIO.rename(staged, conf.rdbPath)
        var movedAOF: String?
        if conf.appendonly && FileIO.exists(conf.aofPath) {
            movedAOF = FileIO.asideName(for: conf.aofPath)
            try FileIO.rename(conf.aofPath, movedAOF!)
            checks.append("moved the AOF directory aside to \(movedAOF!)")
        }
        try FileIO.syncDirectory(conf.dir)
        let restored = Date()
        do {
            checks += try bringUp(conf, summary: summary, parsedAt: parsedAt)
        } catch {
            // The server must not stay down on data it cannot load: put the previous files back
            // and start it on them, then report why the restored RDB failed.
            let reason = Self.logReason(conf)
            let rollback = rollBack(conf, previous: previous, aof: movedAOF, restart: wasRunning)
            let message = (error as? LifeboatError)?.message ?? "\(error)"
            throw LifeboatError(
                .operationFailed,
                "redis restore into \(conf.path) failed: \(message)"
                    + (reason.map { "; the server log says: \($0)" } ?? "") + "; \(rollback)",
                fix: "the restored RDB is kept at \(conf.rdbPath).lifeboat-failed; check the snapshot with `lifeboat verify --deep`")
        }
        var outcome = RestoreOutcome(target: configPath, entries: 1, bytes: bytes, previousMovedTo: previous, checks: checks)
        outcome.phases = [.init(name: "restore", started: began, seconds: restored.timeIntervalSince(began))]
        outcome.addPhase("start", since: restored)
        return outcome
    }

    /// Starts the server on the restored RDB and proves it serves the snapshot's data: each
    /// database holds exactly the keys the parse found, less those whose expiry passed (a key
    /// expiring while the server loads may or may not be counted, so the bound is a range).
    private func bringUp(_ conf: RedisConfig, summary: RDBSummary, parsedAt: Date) throws -> [String] {
        var checks: [String] = []
        let client = try start(conf)
        if conf.appendonly {
            try client.expect("CONFIG", "SET", "appendonly", "yes")
            try waitFor(client, "the AOF rewrite") { info in
                info["aof_enabled"] == "1" && info["aof_rewrite_in_progress"] == "0" && info["aof_rewrite_scheduled"] == "0"
            }
            checks.append("AOF re-enabled and rewritten from the restored data")
        }
        let keyspace = try RedisInfo.fetch(client, section: "keyspace").keyspace
        let countedAt = Date()
        if let mismatch = Self.keyCountMismatch(summary: summary, keyspace: keyspace, parsedAt: parsedAt, countedAt: countedAt) {
            throw LifeboatError(.operationFailed, "redis \(client.endpoint) does not hold the restored data: \(mismatch)")
        }
        checks.append(
            "keys per database as parsed from the RDB: "
                + summary.databases.keys.sorted().map { "db\($0)=\(keyspace["db\($0)"] ?? 0)" }.joined(separator: " "))
        let keys = keyspace.values.reduce(0, +)
        if let recorded = RedisMetadata(component).keysTotal {
            guard !(recorded > 0 && keys == 0) else {
                throw LifeboatError(.operationFailed, "redis \(client.endpoint) started empty after the restore (the snapshot has \(recorded) keys)")
            }
            checks.append("keys: \(keys) (the snapshot's server had \(recorded) when it was taken)")
        }
        return checks
    }

    /// Why the server's per-database counts (INFO keyspace) are not what the parsed RDB holds,
    /// or nil when they are.
    static func keyCountMismatch(summary: RDBSummary, keyspace: [String: Int64], parsedAt: Date, countedAt: Date) -> String? {
        let databases = Set(summary.databases.keys.map { "db\($0)" }).union(keyspace.keys)
        for name in databases.sorted() {
            let actual = Int(keyspace[name] ?? 0)
            let counts = Int(name.dropFirst(2)).flatMap { summary.databases[$0] } ?? .init()
            let most = counts.alive(at: parsedAt)
            let least = counts.alive(at: countedAt)
            guard (least...most).contains(actual) else {
                let expected = least == most ? "\(most)" : "\(least) to \(most) (keys expire meanwhile)"
                return "\(name) has \(actual) keys, the RDB holds \(expected)"
            }
        }
        return nil
    }

    /// Stops whatever runs, sets the restored RDB aside, puts the previous RDB and AOF
    /// directory back and starts the server on them as its config says. Returns what it did.
    private func rollBack(_ conf: RedisConfig, previous: String?, aof: String?, restart: Bool) -> String {
        _ = try? shutdownIfRunning(conf)
        unlink(conf.rdbPath + ".lifeboat-failed")
        _ = try? FileIO.rename(conf.rdbPath, conf.rdbPath + ".lifeboat-failed")
        var steps: [String] = []
        if let previous, (try? FileIO.rename(previous, conf.rdbPath)) != nil { steps.append("the previous RDB was put back") }
        if let aof, (try? FileIO.rename(aof, conf.aofPath)) != nil { steps.append("the previous AOF directory was put back") }
        guard previous != nil || aof != nil else { return "there was no previous data to put back; the server is stopped" }
        guard restart else { return steps.joined(separator: ", ") + "; the server was not running before and was left stopped" }
        let status = try? ChildProcess.run(["redis-server", conf.path, "--daemonize", "yes"], in: (conf.path as NSString).deletingLastPathComponent)
        var serving = false
        for _ in 0..<600 where status == 0 && !serving {
            if let client = try? RESPClient(conf.endpoint, timeout: 2),
                (try? client.authenticate(user: nil, password: conf.requirepass)) != nil,
                let info = try? RedisInfo.fetch(client, section: "persistence"), info["loading"] == "0"
            {
                serving = true
            } else {
                usleep(50_000)
            }
        }
        steps.append(serving ? "the server is serving the previous data again" : "the server did not start on the previous data: start it by hand")
        return steps.joined(separator: ", ")
    }

    /// The last warning or error the server logged (`# …` lines), if it logs to a file.
    static func logReason(_ conf: RedisConfig) -> String? {
        guard let logfile = conf.logfile, let text = try? String(contentsOfFile: logfile, encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n").suffix(40).filter { $0.contains(" # ") }
        return lines.last.map { String($0[$0.range(of: " # ")!.upperBound...]).trimmingCharacters(in: .whitespaces) }
    }

    /// A scratch server's directory must be new or empty, unless `force`; true when it is not.
    @discardableResult
    static func checkScratch(_ dir: String, force: Bool) throws -> Bool {
        guard let contents = try? FileManager.default.contentsOfDirectory(atPath: dir), !contents.isEmpty else { return false }
        guard force else { throw LifeboatError(.invalidInput, "scratch directory \(dir) is not empty", fix: "use a new directory, or --force") }
        return true
    }

    /// `--to-config FILE`, or a generated config for a scratch server in `--to DIR` on `--port`.
    private func targetConfig() throws -> String {
        if case .redisServer(let config) = target { return config }
        guard case .scratchServer(let directory, let port) = target else {
            throw LifeboatError(
                .invalidInput, "restoring redis source \"\(component.source)\" needs a target server",
                fix: "add --to-config /etc/redis/redis.conf, or --to DIR --port P for a scratch server")
        }
        let dir = FileIO.absolute(directory)
        try Self.checkScratch(dir, force: options.force)
        try FileIO.makeDirectory(dir, mode: 0o700)
        let config = dir + "/redis.conf"
        let text = """
            # scratch server written by lifeboat restore
            bind 127.0.0.1
            port \(port)
            dir \(dir)
            dbfilename dump.rdb
            appendonly no
            save ""
            logfile \(dir)/redis.log
            pidfile \(dir)/redis.pid
            enable-debug-command local

            """
        try FileIO.writeAtomically(Array(text.utf8), to: config, mode: 0o600)
        return config
    }

    /// Refuses an RDB newer than the local `redis-server` reads.
    private func checkVersion() throws {
        guard let rdb = RedisMetadata(component).rdbVersion else { return }
        guard let output = try? Self.runTool("redis-server", ["--version"]) else {
            throw LifeboatError(.operationFailed, "cannot run redis-server --version", fix: "install redis-server on this host")
        }
        let supported = Self.maxRDBVersion(serverVersion: output)
        guard rdb <= supported else {
            throw LifeboatError(
                .invalidInput, "the snapshot's RDB is version \(rdb); this host's redis-server reads up to version \(supported)",
                fix:
                    "restore onto a Redis at least as new as the one that took the snapshot (\(RedisMetadata(component).redisVersion ?? "?"))"
            )
        }
    }

    /// The newest RDB version a `redis-server --version` output can load.
    static func maxRDBVersion(serverVersion: String) -> Int64 {
        guard let range = serverVersion.range(of: "v=") else { return 9 }
        let parts = serverVersion[range.upperBound...].prefix { $0 != " " }.split(separator: ".").compactMap { Int($0) }
        let (major, minor) = (parts.first ?? 0, parts.count > 1 ? parts[1] : 0)
        switch (major, minor) {
        case (8..., _), (7, 4...): return 12
        case (7, 2...): return 11
        case (7, _): return 10
        case (5...6, _): return 9
        default: return 8
        }
    }

    /// Streams the component's `dump.rdb` to `path`, checking its CRC and structure as it goes
    /// (`RDBCheck`), and fsyncs it.
    private func stage(reader: ComponentReader, to path: String) throws -> (Int64, RDBSummary) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LifeboatError.system("cannot create", path: path) }
        var bytes: Int64 = 0
        let validator = RDBCheck()
        do {
            defer { close(fd) }
            var found = false
            while let entry = try reader.next() {
                guard entry.record.path == "dump.rdb" else { continue }
                found = true
                try reader.readData { chunk in
                    try validator.consume(chunk)
                    try FileIO.writeAll(fd, chunk, path: path)
                    bytes += Int64(chunk.count)
                }
            }
            guard found else { throw LifeboatError(.integrity, "component \(component.source) has no dump.rdb") }
            try validator.finish()
            try FileIO.sync(fd, path: path)
        } catch {
            unlink(path)
            throw error
        }
        return (bytes, validator.summary ?? RDBSummary())
    }

    /// `dir` and `dbfilename` of the server running at the config's address, if it runs and
    /// allows CONFIG GET.
    private func liveFiles(_ conf: RedisConfig) throws -> (dir: String, dbfilename: String) {
        let client = try RESPClient(conf.endpoint, timeout: 5)
        try client.authenticate(user: nil, password: conf.requirepass)
        guard case .array(let dir?) = try client.call("CONFIG", "GET", "dir"), dir.count == 2, let d = dir[1].text,
            case .array(let file?) = try client.call("CONFIG", "GET", "dbfilename"), file.count == 2, let f = file[1].text
        else { throw LifeboatError(.operationFailed, "CONFIG GET refused") }
        return (d, f)
    }

    private func shutdownIfRunning(_ conf: RedisConfig) throws -> Bool {
        guard let client = try? RESPClient(conf.endpoint, timeout: 5) else { return false }
        try client.authenticate(user: nil, password: conf.requirepass)
        _ = try? client.call("SHUTDOWN", "NOSAVE")  // the connection drops when it works
        for _ in 0..<600 {
            if (try? RESPClient(conf.endpoint, timeout: 1)) == nil { return true }
            usleep(50_000)
        }
        throw LifeboatError(.operationFailed, "redis \(conf.endpoint.display) did not stop after SHUTDOWN NOSAVE")
    }

    /// Starts `redis-server CONF --appendonly no --daemonize yes` and waits until it has loaded.
    private func start(_ conf: RedisConfig) throws -> RESPClient {
        let launched = Date()
        let status = try ChildProcess.run(
            [
                "redis-server", conf.path, "--dir", conf.dir, "--dbfilename", conf.dbfilename,
                "--appendonly", "no", "--daemonize", "yes",
            ],
            in: (conf.path as NSString).deletingLastPathComponent)
        guard status == 0 else {
            throw LifeboatError(
                .operationFailed, "redis-server \(conf.path) exited \(status) at start after the restore",
                fix: "see the server log; the restored RDB is \(conf.rdbPath)")
        }
        var client: RESPClient?
        for _ in 0..<600 where client == nil {
            client = try? RESPClient(conf.endpoint, timeout: 5)
            if client == nil {
                if Self.exited(conf, since: launched) {
                    throw LifeboatError(.operationFailed, "redis-server with \(conf.path) exited while loading the restored RDB")
                }
                usleep(50_000)
            }
        }
        guard let client else {
            throw LifeboatError(
                .operationFailed, "redis-server with \(conf.path) did not start after the restore",
                fix: "see the server log; the restored RDB is \(conf.rdbPath)")
        }
        try client.authenticate(user: nil, password: conf.requirepass)
        try waitFor(client, "loading to finish") { $0["loading"] == "0" }
        return client
    }

    /// True when the server started at `since` has already died: its pid file (written before
    /// Redis loads data) names a process that is gone. Saves the 30-second wait when Redis exits
    /// on an RDB it cannot load.
    static func exited(_ conf: RedisConfig, since: Date) -> Bool {
        var info = stat()
        guard stat(conf.pidfile, &info) == 0, Double(info.st_mtim.tv_sec) >= since.timeIntervalSince1970.rounded(.down) - 1,
            let text = try? String(contentsOfFile: conf.pidfile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0
        else { return false }
        return kill(pid, 0) == -1 && errno == ESRCH
    }

    private func waitFor(_ client: RESPClient, _ what: String, _ done: (RedisInfo) -> Bool) throws {
        for _ in 0..<36_000 {  // up to an hour
            let info: RedisInfo
            do {
                info = try RedisInfo.fetch(client, section: "persistence")
            } catch let error as LifeboatError where error.message.contains("LOADING") {
                usleep(100_000)
                continue
            }
            if done(info) { return }
            usleep(100_000)
        }
        throw LifeboatError(.operationFailed, "redis \(client.endpoint): timed out waiting for \(what)")
    }

    static func runTool(_ name: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [name] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw LifeboatError(.operationFailed, "\(name) exited \(process.terminationStatus)") }
        return String(decoding: data, as: UTF8.self)
    }
}
