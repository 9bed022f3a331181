import Foundation
import LifeboatCore
import Testing

/// The Redis adapter against real redis-server processes (no mocks): DEBUG DIGEST equal after
/// backup → flush → restore, the AOF trap, the replica transfer with a least-privilege ACL user,
/// and corrupt RDBs refused.
@Suite(.serialized) struct RedisTests {
    func policy(_ box: Sandbox, sources: String, format: Int = RepositoryConfig.currentFormat) throws {
        try """
        repository: \(box.repo)
        sources:
        \(sources)
        schedules:
          hourly: {cron: "@hourly"}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        try CLI.run(["init", "--repo", box.repo, "--format", String(format)])
    }

    @Test func bgsaveBackupFlushRestoreGivesTheSameDigest() throws {
        let box = try Sandbox("redis")
        let server = try RedisServer(in: box.root + "/redis")
        try server.populate()
        let before = try server.digest()
        let keys = try server.keys()
        #expect(keys > 200_000)
        try policy(box, sources: "  cache: {type: redis, host: 127.0.0.1, port: \(server.port), config: \(server.config)}")

        let backup = try CLI.run(["backup", "--policy", box.policy, "--json"])
        #expect(backup.status == 0, "\(backup.output)")
        let manifest = try #require(try CLI.run(["show", "latest", "--repo", box.repo, "--json"]).json() as? [String: Any])
        let metadata = try #require((manifest["components"] as? [[String: Any]])?.first?["metadata"] as? [String: Any])
        #expect(metadata["redis_version"] as? String != nil)
        #expect(metadata["rdb_version"] as? Int == 10)
        #expect(metadata["keys_total"] as? Int == Int(keys))
        #expect((metadata["used_memory"] as? Int ?? 0) > 0)
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0)

        try server.client().expect("FLUSHALL")
        #expect(try server.keys() == 0)
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--source", "cache", "--to-config", server.config])
        #expect(restore.status == 0, "\(restore.output)")
        #expect(try server.digest() == before)
        #expect(try server.keys() == keys)
        // The RDB it replaced is kept aside, not deleted.
        #expect(try FileManager.default.contentsOfDirectory(atPath: server.directory).contains { $0.hasPrefix("dump.rdb.lifeboat-previous-") })
    }

    @Test func restoreWithAppendOnlyOnDoesNotComeBackEmpty() throws {
        let box = try Sandbox("redis-aof")
        let server = try RedisServer(in: box.root + "/redis", extraConfig: ["appendonly yes"])
        try server.populate(keys: 50_000)
        let before = try server.digest()
        try policy(box, sources: "  cache: {type: redis, port: \(server.port), config: \(server.config)}")
        #expect(try CLI.run(["backup", "--policy", box.policy]).status == 0)
        try server.client().expect("FLUSHALL")  // the AOF now says "empty"

        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--source", "cache", "--to-config", server.config])
        #expect(restore.status == 0, "\(restore.output)")
        #expect(try server.digest() == before)
        let info = RedisInfo(try server.client().expect("INFO", "persistence").text ?? "")
        #expect(info["aof_enabled"] == "1")

        // The real trap: after a restart with appendonly yes, the data must still be there.
        _ = try? server.client().call("SHUTDOWN")
        Thread.sleep(forTimeInterval: 0.3)
        #expect(try ChildProcess.run(["redis-server", server.config, "--daemonize", "yes"], in: server.directory) == 0)
        var digest = ""
        for _ in 0..<100 where digest.isEmpty {
            Thread.sleep(forTimeInterval: 0.05)
            digest = (try? server.digest()) ?? ""
        }
        #expect(digest == before)
    }

    @Test func replicaTransferWithALeastPrivilegeUserRestoresIntoAScratchServer() throws {
        let box = try Sandbox("redis-replica")
        let server = try RedisServer(
            in: box.root + "/redis",
            extraConfig: ["user backup on >s3cret-pw ~* &* -@all +sync +psync +replconf +ping +info"])
        try server.populate(keys: 20_000)
        let before = try server.digest()
        let passwordFile = box.root + "/redis.pw"
        try "s3cret-pw\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        try policy(box, sources: "  cache: {type: redis, port: \(server.port), method: replica, user: backup, password_file: \(passwordFile)}")
        // #13 item 12: a password file others can read is refused, with the chmod to run.
        chmod(passwordFile, 0o644)
        let loose = try CLI.run(["backup", "--policy", box.policy])
        #expect(loose.status == 2 && loose.stderr.contains("chmod 600 \(passwordFile)"), "\(loose.output)")
        chmod(passwordFile, 0o600)
        let backup = try CLI.run(["backup", "--policy", box.policy])
        #expect(backup.status == 0, "\(backup.output)")
        // The password is in no argv, log line or manifest.
        let manifest = try CLI.run(["show", "latest", "--repo", box.repo, "--json"]).stdout
        #expect(!manifest.contains("s3cret-pw") && !backup.output.contains("s3cret-pw"))

        let scratchPort = try RedisServer.freePort()
        let scratchDir = box.root + "/scratch"
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--to", scratchDir, "--port", String(scratchPort)])
        #expect(restore.status == 0, "\(restore.output)")
        let scratch = try RESPClient(host: "127.0.0.1", port: scratchPort)
        #expect(try scratch.expect("DEBUG", "DIGEST").text == before)
        _ = try? scratch.call("SHUTDOWN", "NOSAVE")
    }

    @Test func aWrongPasswordIsAClearError() throws {
        let box = try Sandbox("redis-auth")
        let server = try RedisServer(in: box.root + "/redis", extraConfig: ["requirepass right"])
        try policy(box, sources: "  cache: {type: redis, port: \(server.port), password_env: LIFEBOAT_TEST_REDIS_PW}")
        let result = try CLI.run(["backup", "--policy", box.policy], environment: ["LIFEBOAT_TEST_REDIS_PW": "wrong"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("authentication failed"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: box.repo + "/snapshots").isEmpty)
        _ = try? server.client(password: "right").call("SHUTDOWN", "NOSAVE")
    }

    @Test func aCorruptedRDBIsRefusedWithExit3() throws {
        let box = try Sandbox("redis-corrupt")
        let server = try RedisServer(in: box.root + "/redis")
        try server.populate(keys: 5_000)
        try policy(box, sources: "  cache: {type: redis, port: \(server.port), config: \(server.config)}", format: 1)  // it edits the stored file
        #expect(try CLI.run(["backup", "--policy", box.policy, "--compression", "none"]).status == 0)
        // Corrupt a byte inside dump.rdb's content, then re-seal everything so that only the RDB's
        // own CRC can tell: stored-file and entry hashes are recomputed, the manifest resealed.
        let summary = try #require((try CLI.run(["snapshots", "--repo", box.repo, "--json"]).json() as? [[String: Any]])?.first)
        let id = try #require(summary["id"] as? String)
        let manifestPath = box.repo + "/snapshots/\(id).json"
        var manifest = try Manifest.load(Data(contentsOf: URL(fileURLWithPath: manifestPath)), path: manifestPath)
        let file = box.repo + "/" + manifest.components[0].file
        var data = try Data(contentsOf: URL(fileURLWithPath: file))
        let start = try #require(data.range(of: Data("REDIS0010".utf8))).lowerBound
        data[start + 4000] ^= 0xff
        try data.write(to: URL(fileURLWithPath: file))
        let content = data[start..<(start + Int(manifest.components[0].entries[0].size))]
        manifest.components[0].entries[0].sha256 = SHA256Hasher.hex(of: content)
        manifest.components[0].sha256 = SHA256Hasher.hex(of: data)
        manifest.checksum = nil
        try Data(try manifest.sealedBytes()).write(to: URL(fileURLWithPath: manifestPath))

        #expect(try CLI.run(["verify", "--repo", box.repo]).status == 0)  // stored bytes match the (resealed) manifest
        let deep = try CLI.run(["verify", "--repo", box.repo, "--deep"])
        #expect(deep.status == 3)
        #expect(deep.stderr.contains("entry \"dump.rdb\"") && deep.stderr.contains("checksum"), "\(deep.stderr)")
        let before = try server.digest()
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--to-config", server.config])
        #expect(restore.status == 3, "\(restore.output)")
        #expect(try server.digest() == before)  // the running server was never touched
    }

    @Test func anRDBNewerThanTheTargetServerIsRefused() throws {
        let box = try Sandbox("redis-version")
        let server = try RedisServer(in: box.root + "/redis")
        try server.populate(keys: 1_000)
        try policy(box, sources: "  cache: {type: redis, port: \(server.port), config: \(server.config)}")
        #expect(try CLI.run(["backup", "--policy", box.policy]).status == 0)
        // Pretend the snapshot came from Redis 7.4 (RDB 12): reseal the manifest with that metadata.
        let id = try #require((try CLI.run(["snapshots", "--repo", box.repo, "--json"]).json() as? [[String: Any]])?.first?["id"] as? String)
        let path = box.repo + "/snapshots/\(id).json"
        var manifest = try Manifest.load(Data(contentsOf: URL(fileURLWithPath: path)), path: path)
        manifest.components[0].metadata["rdb_version"] = .int(12)
        manifest.checksum = nil
        try Data(try manifest.sealedBytes()).write(to: URL(fileURLWithPath: path))
        let before = try server.digest()
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--to-config", server.config])
        #expect(restore.status == 2, "\(restore.output)")
        #expect(restore.stderr.contains("version 12"))
        #expect(try server.digest() == before)
    }

    /// A save already running (another BGSAVE, a replica's sync) predates the backup: the capture
    /// waits for it and takes its own, so a key written after that save began is in the snapshot.
    @Test func aSaveAlreadyRunningIsWaitedForNotReused() throws {
        let box = try Sandbox("redis-busy")
        let server = try RedisServer(in: box.root + "/redis")
        try server.populate(keys: 5_000)
        try policy(box, sources: "  cache: {type: redis, port: \(server.port), config: \(server.config)}")
        let c = try server.client()
        try c.expect("CONFIG", "SET", "rdb-key-save-delay", "200")  // ≈ 1 s per save
        try c.expect("BGSAVE")
        try c.expect("SET", "written-after-the-first-save-began", "yes")
        let backup = try CLI.run(["backup", "--policy", box.policy])
        #expect(backup.status == 0, "\(backup.output)")
        try c.expect("CONFIG", "SET", "rdb-key-save-delay", "0")
        try c.expect("FLUSHALL")
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--to-config", server.config])
        #expect(restore.status == 0, "\(restore.output)")
        #expect(try server.client().expect("GET", "written-after-the-first-save-began").text == "yes")
    }
}

/// #13 items 5 and 6: a restored RDB the server cannot load never leaves production down, and
/// one that is structurally corrupt never reaches the server.
@Suite struct RedisRollbackTests {
    /// An RDB with one record after the header and a valid CRC-64 trailer.
    static func rdb(record: [UInt8]) -> [UInt8] {
        var body = Array("REDIS0010".utf8) + [0xFE, 0x00, 0xFB, 0x01, 0x00] + record + [0xFF]
        var crc = CRC64()
        body.withUnsafeBytes { crc.update($0) }
        body += (0..<8).map { UInt8(truncatingIfNeeded: crc.value >> (8 * UInt64($0))) }
        return body
    }

    /// Sound in structure, but a value of a module the server does not load: Redis exits at load
    /// ("no matching module"), as when a RedisJSON RDB meets a server without RedisJSON.
    static let unloadableRDB = rdb(
        record: [0x07, 0x01] + Array("k".utf8) + [0x81, 0, 0, 0x2a, 0x12, 0x34, 0x56, 0x78, 0x01]
            + [0x02, 0x01, 0x00])

    /// A hash listpack whose last entry's back-length is wrong ("Hash listpack integrity check
    /// failed" in Redis), with a valid CRC: only a structural parse can tell.
    static let structurallyCorruptRDB = rdb(
        record: [0x10, 0x01] + Array("h".utf8)
            + [13, 13, 0, 0, 0, 2, 0, 0x81, 0x66, 2, 0x81, 0x76, 9, 0xFF])

    /// A snapshot written by hand around `rdb`, as a backup of it would be.
    static func snapshot(of rdb: [UInt8], in box: Sandbox, name: String) throws {
        try CLI.run(["init", "--repo", box.repo])
        let id = String(format: "%016llx", UInt64.random(in: 1...UInt64.max))
        let file = "data/\(id)/cache.tar"
        let writer = try ArchiveWriter(output: try DiskStorage(root: box.repo).writer(file), compression: .none)
        try writer.addBytes(path: "dump.rdb", rdb, mode: 0o600, mtime: timespec(tv_sec: 1_700_000_000, tv_nsec: 0))
        let stored = try writer.finish()
        let now = Timestamp.rfc3339(Date())
        let manifest = Manifest(
            id: id, name: name, schedule: "manual", policy: nil, host: "x", started: now, finished: now,
            recoveryPoint: now, tools: [:],
            components: [
                .init(
                    source: "cache", type: "redis", file: file, compression: "none", bytes: stored.bytes,
                    sha256: stored.sha256, contentBytes: writer.contentBytes, entries: writer.entries,
                    metadata: ["rdb_version": .int(10), "keys_total": .int(1)], warnings: [])
            ])
        try Data(try manifest.sealedBytes()).write(to: URL(fileURLWithPath: box.repo + "/snapshots/\(id).json"))
    }

    @Test func item5_anUnloadableRDBIsRolledBackAndTheOldDataServed() throws {
        let box = try Sandbox("redis-rollback")
        let server = try RedisServer(in: box.root + "/redis")
        try server.populate(keys: 1_000)
        let before = try server.digest()
        _ = try server.client().call("SAVE")
        try Self.snapshot(of: Self.unloadableRDB, in: box, name: "manual-bad")

        let restore = try CLI.run(["restore", "manual-bad", "--repo", box.repo, "--to-config", server.config])
        #expect(restore.status == 1, "\(restore.output)")
        #expect(restore.stderr.contains("the previous RDB was put back") && restore.stderr.contains("serving the previous data"), "\(restore.output)")
        #expect(restore.stderr.contains("the server log says") && restore.stderr.contains("module"), "\(restore.output)")
        #expect(try server.digest() == before)
    }

    @Test func item6_aCRCValidStructurallyCorruptRDBFailsDeepVerifyAndNeverReachesTheServer() throws {
        let box = try Sandbox("redis-structure")
        let server = try RedisServer(in: box.root + "/redis")
        try server.populate(keys: 1_000)
        let before = try server.digest()
        try Self.snapshot(of: Self.structurallyCorruptRDB, in: box, name: "manual-corrupt")

        #expect(try CLI.run(["verify", "--repo", box.repo]).status == 0)  // the stored bytes are what the manifest says
        let deep = try CLI.run(["verify", "--repo", box.repo, "--deep"])
        #expect(deep.status == 3, "\(deep.output)")
        #expect(deep.stderr.contains("entry \"dump.rdb\"") && deep.stderr.contains("listpack integrity check failed"), "\(deep.output)")
        let restore = try CLI.run(["restore", "manual-corrupt", "--repo", box.repo, "--to-config", server.config])
        #expect(restore.status == 3, "\(restore.output)")
        #expect(restore.stderr.contains("key \"h\""), "\(restore.output)")
        #expect(try server.digest() == before)  // still running, never stopped
    }
}

/// The structural parse against what a real Redis writes: every type and encoding Redis 7 saves,
/// with per-database counts equal to the server's own.
@Suite struct RDBParseAgainstRedisTests {
    @Test func everyTypeRedisWritesParsesWithTheServersKeyCounts() throws {
        let box = try Sandbox("redis-parse")
        let server = try RedisServer(in: box.root + "/redis")
        let c = try server.client()
        try c.expect("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100")  // big elements become plain quicklist nodes
        try c.expect("SET", "int", "12345")
        try c.expect("SET", "small", "hello")
        try c.expect("SET", "compressible", String(repeating: "abc", count: 5_000))  // LZF
        try c.expect("RPUSH", "list:packed", "a", "b", "1", "2")
        try c.expect("RPUSH", "list:plain", String(repeating: "x", count: 500), "y")
        for i in 0..<2_000 { try c.expect("RPUSH", "list:long", "element-\(i)") }
        try c.expect("SADD", "set:ints", "1", "2", "3", "-70000", "5000000000")
        try c.expect("SADD", "set:strings", "a", "b", "c")
        for i in 0..<600 { try c.expect("SADD", "set:big", "member-\(i)") }
        try c.expect("ZADD", "zset:small", "1", "a", "2.5", "b", "-inf", "c")
        for i in 0..<300 { try c.expect("ZADD", "zset:big", String(i), "m\(i)") }
        try c.expect("HSET", "hash:small", "f", "v", "n", "42")
        for i in 0..<600 { try c.expect("HSET", "hash:big", "field-\(i)", String(repeating: "v", count: i % 90)) }
        for i in 0..<250 { try c.expect("XADD", "stream", "*", "seq", String(i), i % 2 == 0 ? "even" : "odd", "1") }
        try c.expect("XGROUP", "CREATE", "stream", "workers", "0")
        try c.expect("XREADGROUP", "GROUP", "workers", "alice", "COUNT", "7", "STREAMS", "stream", ">")
        try c.expect("XREADGROUP", "GROUP", "workers", "bob", "COUNT", "3", "STREAMS", "stream", ">")
        try c.expect("XADD", "stream:trimmed", "*", "a", "1")
        try c.expect("XDEL", "stream:trimmed", try c.expect("XADD", "stream:trimmed", "*", "b", "2").text ?? "")
        try c.expect("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 1 end)")
        try c.expect("SELECT", "2")
        for i in 0..<40 { try c.expect("SET", "ttl:\(i)", "v", "EX", "3600") }
        try c.expect("SET", "persistent", "v")
        try c.expect("SELECT", "15")
        try c.expect("SET", "last-db", "v")
        try c.expect("SAVE")

        let info = try RedisInfo.fetch(c, section: "keyspace").keyspace
        let check = try RDBCheck.file(server.directory + "/dump.rdb")
        let summary = try #require(check.summary)
        #expect(summary.notParsed == nil)
        #expect(summary.functions == 1)
        #expect(summary.emptyKeys == 0)
        #expect(check.warnings.isEmpty, "\(check.warnings)")
        for (db, keys) in info {
            #expect(summary.databases[Int(db.dropFirst(2))!]?.keys == Int(keys), "\(db)")
            #expect(summary.databases[Int(db.dropFirst(2))!]?.alive(at: Date()) == Int(keys), "\(db)")
        }
        #expect(summary.keys == Int(info.values.reduce(0, +)))

        // Through the CLI: the manifest records the counts, deep verify passes, the restore's
        // post-check compares them database by database.
        try RedisTests().policy(box, sources: "  cache: {type: redis, port: \(server.port), config: \(server.config)}")
        let backup = try CLI.run(["backup", "--policy", box.policy])
        #expect(backup.status == 0, "\(backup.output)")
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0)
        let digest = try server.digest()
        try c.expect("FLUSHALL")
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--to-config", server.config])
        #expect(restore.status == 0, "\(restore.output)")
        #expect(restore.output.contains("keys per database as parsed from the RDB: db0=\(info["db0"]!) db2=41 db15=1"), "\(restore.output)")
        #expect(try server.digest() == digest)
    }
}
