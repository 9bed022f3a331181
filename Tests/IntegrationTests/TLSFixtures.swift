import Foundation
import LifeboatCore

/// A throwaway certificate authority in a directory (scripts/sandbox/test-ca.sh): each test makes its
/// own, so "a CA nobody trusts" is just another directory.
struct TestCA {
    let directory: String
    var caFile: String { directory + "/ca.pem" }

    init(in directory: String) { self.directory = directory }

    /// Issues a certificate for `san` (`DNS:localhost,IP:127.0.0.1`); returns (cert, key).
    @discardableResult
    func issue(_ name: String, san: String, client: Bool = false, expired: Bool = false) throws -> (cert: String, key: String) {
        let argv =
            ["/bin/bash", PostgresServer.sandboxScripts + "/test-ca.sh", directory, name, san] + (client ? ["client"] : expired ? ["expired"] : [])
        guard try ChildProcess.run(argv, in: "/") == 0 else { throw LifeboatError(.operationFailed, "test-ca.sh failed for \(name)") }
        return (directory + "/\(name).pem", directory + "/\(name).key")
    }
}

/// scripts/sandbox/tls-proxy.py on a loopback port: TLS in front of a plain server (Chroma and Qdrant
/// cannot serve TLS themselves), optionally demanding client certificates. Call `stop()` at the
/// end of the test: Swift may release a local before its scope ends.
final class TLSProxy {
    let port: Int
    private let process: Process

    /// `cutAfter`: the first connection breaks after that many bytes towards the client;
    /// `log`: request lines (and Range headers) are appended there.
    init(upstream: String, cert: String, key: String, clientCA: String? = nil, cutAfter: Int? = nil, log: String? = nil) throws {
        port = try RedisServer.freePort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments =
            [PostgresServer.sandboxScripts + "/tls-proxy.py", String(port), upstream, cert, key] + (clientCA.map { ["--client-ca", $0] } ?? [])
            + (cutAfter.map { ["--cut-after", String($0)] } ?? []) + (log.map { ["--log", $0] } ?? [])
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<100 {
            if !RedisServer.canBind(port) { return }  // listening
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw LifeboatError(.operationFailed, "tls-proxy.py did not listen on \(port)")
    }

    var url: String { "https://localhost:\(port)" }

    /// SIGKILL: the test runner blocks SIGTERM, and a child inherits the mask.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}
