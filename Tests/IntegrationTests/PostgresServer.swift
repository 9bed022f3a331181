import Foundation
import LifeboatCore
import Testing

/// A real PostgreSQL 15 cluster on a loopback port, started by scripts/sandbox/pg-sandbox.sh in a
/// scratch directory (owned by `postgres` when the tests run as root) and stopped when released.
final class PostgresServer {
    let port: Int
    let directory: String
    var dataDirectory: String { directory + "/data" }

    /// scripts/sandbox: the scripts that start the test servers.
    static let sandboxScripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/sandbox").path
    static let bin = "/usr/lib/postgresql/15/bin"

    init(in directory: String, extraConfig: [String] = []) throws {
        self.directory = directory
        port = try RedisServer.freePort()
        guard
            try ChildProcess.run(
                ["/bin/bash", Self.sandboxScripts + "/pg-sandbox.sh", "start", directory, String(port)] + extraConfig,
                in: "/") == 0
        else {
            throw LifeboatError(.operationFailed, "pg-sandbox.sh failed (is postgresql-15 installed? scripts/setup.sh installs it)")
        }
    }

    /// A hot standby of `primary` streaming from it (pg_basebackup -R), on a port of its own,
    /// with archive_mode off as standbys usually have it: the primary archives.
    init(standbyOf primary: PostgresServer, in directory: String) throws {
        self.directory = directory
        port = try RedisServer.freePort()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o700)
        try Self.giveToOwner(directory)
        let asOwner = geteuid() == 0 ? ["runuser", "-u", "postgres", "--"] : []
        guard
            try ChildProcess.run(
                asOwner + [
                    Self.bin + "/pg_basebackup", "-D", directory + "/data", "-R", "-X", "stream", "--checkpoint=fast", "-h", "127.0.0.1", "-p",
                    String(primary.port),
                    "-U", "postgres",
                ], in: "/") == 0
        else { throw LifeboatError(.operationFailed, "pg_basebackup of the standby failed") }
        let settings = "port = \(port)\nunix_socket_directories = '\(directory)'\narchive_mode = off\nhot_standby = on\n"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/data/postgresql.auto.conf"))
        handle.seekToEndOfFile()
        handle.write(Data(settings.utf8))
        try handle.close()
        guard
            try ChildProcess.run(["/bin/bash", Self.sandboxScripts + "/pg-sandbox.sh", "start", directory, String(port)], in: "/") == 0
        else { throw LifeboatError(.operationFailed, "the standby in \(directory) did not start") }
    }

    /// Waits until this standby has replayed what `primary` has written so far.
    func waitForReplay(of primary: PostgresServer) throws {
        let lsn = try #require(try primary.connect().value("SELECT pg_current_wal_lsn()::text"))
        for _ in 0..<300 {
            if try connect().value("SELECT pg_last_wal_replay_lsn() >= '\(lsn)'::pg_lsn") == "t" { return }
            usleep(100_000)
        }
        throw LifeboatError(.operationFailed, "the standby did not replay up to \(lsn) in 30 s")
    }

    deinit {
        _ = try? ChildProcess.run(["/bin/bash", Self.sandboxScripts + "/pg-sandbox.sh", "stop", directory], in: "/")
    }

    /// Starts the cluster again on its port (after a stop or a SIGKILL: crash recovery runs).
    /// Stops a cluster a restore started in `datadir` (immediate: its content is checked already).
    static func stopRestored(_ datadir: String) {
        _ = try? ChildProcess.run(
            (geteuid() == 0 ? ["runuser", "-u", "postgres", "--"] : []) + [bin + "/pg_ctl", "-D", datadir, "-m", "immediate", "-w", "stop"], in: "/")
    }

    func startAgain() throws {
        guard
            try ChildProcess.run(["/bin/bash", Self.sandboxScripts + "/pg-sandbox.sh", "start", directory, String(port)], in: "/") == 0
        else {
            throw LifeboatError(.operationFailed, "pg-sandbox.sh could not start the cluster in \(directory) again")
        }
    }

    func connect(_ database: String = "postgres") throws -> PostgresConnection {
        try PostgresConnection(host: "127.0.0.1", port: port, database: database, user: "postgres", password: nil)
    }

    /// `pgbench -i -s SCALE` into `database` (created first).
    func pgbench(database: String, scale: Int) throws {
        try connect().query("CREATE DATABASE \(database)")
        let code = try ChildProcess.run(
            [
                Self.bin + "/pgbench", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres",
                "-i", "-q", "-s", String(scale), database,
            ], in: "/")
        guard code == 0 else { throw LifeboatError(.operationFailed, "pgbench -i failed (exit \(code))") }
    }

    /// md5 over every row of every user table, in a stable order: equal checksums, equal data.
    static func tableChecksums(_ connection: PostgresConnection) throws -> [String: String] {
        let tables = try connection.query("SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        var sums: [String: String] = [:]
        for row in tables {
            let table = row[0]!
            sums[table] = try connection.value(
                "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM \(table) t")
        }
        return sums
    }

    /// Gives the cluster's owner the directory (for repositories it archives WAL into).
    static func giveToOwner(_ path: String) throws {
        guard geteuid() == 0 else { return }
        guard try ChildProcess.run(["chown", "-R", "postgres:", path], in: "/") == 0 else {
            throw LifeboatError(.operationFailed, "chown \(path) failed")
        }
    }
}

extension CLI {
    /// Runs `lifeboat` as the PostgreSQL cluster's owner (root cannot start PostgreSQL).
    @discardableResult
    static func runAsClusterOwner(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        try run(arguments, environment: environment, in: "/", prefix: geteuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] : [])
    }
}
