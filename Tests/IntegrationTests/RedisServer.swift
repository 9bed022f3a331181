import Foundation
import LifeboatCore

/// A real redis-server on a loopback port, started by scripts/sandbox/redis-sandbox.sh in a scratch
/// directory and shut down when released.
final class RedisServer {
    let port: Int
    let directory: String
    /// The server's pid, read from its pid file right after the start (the directory may be gone
    /// by the time the server is released).
    private var pid: pid_t?
    /// How the tests' own client reaches it (TLS or a Unix socket for such servers).
    var endpoint: Endpoint
    var config: String { directory + "/redis.conf" }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/sandbox/redis-sandbox.sh").path

    /// `extraConfig` lines may say `$PORT` for the server's port (`tls-port $PORT` after `port 0`).
    init(in directory: String, extraConfig: [String] = [], endpoint: ((Int) -> Endpoint)? = nil) throws {
        self.directory = directory
        port = try RedisServer.freePort()
        self.endpoint = endpoint?(port) ?? .tcp("127.0.0.1", port)
        // Not Foundation's Process: it waits for the daemonized server too (see ChildProcess).
        guard
            try ChildProcess.run(
                ["/bin/bash", Self.script, directory, String(port)] + extraConfig.map { $0.replacingOccurrences(of: "$PORT", with: String(port)) },
                in: "/") == 0
        else {
            throw LifeboatError(.operationFailed, "redis-sandbox.sh failed (is redis-server installed? scripts/setup.sh installs it)")
        }
        pid = (try? String(contentsOfFile: directory + "/redis.pid", encoding: .utf8))
            .flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// SHUTDOWN NOSAVE, and SIGKILL when that did not stop it (a server with a password the
    /// tests' client does not give, say): no test leaves a server running. Only a process that
    /// is this server (redis-server on this port) is killed; a restore may have restarted it
    /// under a new pid, which its pid file then holds.
    deinit {
        let current = (try? String(contentsOfFile: directory + "/redis.pid", encoding: .utf8))
            .flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        _ = try? client().call("SHUTDOWN", "NOSAVE")
        for candidate in Set([current, pid].compactMap { $0 }) {
            for _ in 0..<50 where Self.isServer(candidate, port: port) { usleep(20_000) }
            if Self.isServer(candidate, port: port) { kill(candidate, SIGKILL) }
        }
    }

    /// Whether process `pid` is a redis-server on `port`.
    private static func isServer(_ pid: pid_t, port: Int) -> Bool {
        guard let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let text = String(decoding: cmdline, as: UTF8.self)
        return text.contains("redis-server") && text.contains(":\(port)")
    }

    func client(user: String? = nil, password: String? = nil) throws -> RESPClient {
        let c = try RESPClient(endpoint, timeout: 30)
        try c.authenticate(user: user, password: password)
        return c
    }

    /// `DEBUG DIGEST`: equal digests, equal data.
    func digest() throws -> String {
        try client().expect("DEBUG", "DIGEST").text ?? ""
    }

    func keys() throws -> Int64 {
        if case .integer(let n) = try client().expect("DBSIZE") { return n }
        return -1
    }

    /// 200k string keys plus hashes, lists, sets, sorted sets and a stream.
    func populate(keys: Int = 200_000) throws {
        let c = try client()
        try c.expect("DEBUG", "POPULATE", String(keys), "key", "32")
        for i in 0..<200 {
            try c.expect("HSET", "hash:\(i)", "name", "doc-\(i)", "score", String(i))
            try c.expect("RPUSH", "list:\(i % 20)", "item-\(i)")
            try c.expect("SADD", "set:\(i % 10)", "member-\(i)")
            try c.expect("ZADD", "zset", String(i), "m\(i)")
            try c.expect("XADD", "events", "*", "seq", String(i))
        }
    }

    /// A port nobody listens on (bind-probe on loopback).
    static func freePort() throws -> Int {
        for _ in 0..<200 {
            let candidate = Int.random(in: 20_000...32_000)  // below the ephemeral range (PITFALLS.md)
            // Never the same port twice in this test process (parallel tests pick ports before
            // their servers bind them), and only one that binds on loopback right now.
            guard PortRegistry.shared.claim(candidate), canBind(candidate) else { continue }
            return candidate
        }
        throw LifeboatError(.operationFailed, "no free port found")
    }

    static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

/// Ports handed out in this test process.
final class PortRegistry: @unchecked Sendable {
    static let shared = PortRegistry()
    private let lock = NSLock()
    private var used = Set<Int>()

    /// True the first time `port` is claimed.
    func claim(_ port: Int) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return used.insert(port).inserted
    }
}
