import Foundation
import LifeboatCore

/// A real S3 engine: a throwaway single-node Ceph cluster with RADOS Gateway on loopback, started
/// by scripts/sandbox/rgw-sandbox.sh. One is shared by the tests of this process (`shared`, stopped at
/// exit); a test that stops the gateway starts its own.
final class RGWServer: @unchecked Sendable {
    let directory: String
    let port: Int
    let environment: [String: String]
    var endpoint: String { "http://127.0.0.1:\(port)" }
    /// The same gateway over TLS (a certificate for localhost from the sandbox's own CA).
    var httpsEndpoint: String { environment["LIFEBOAT_RGW_HTTPS"] ?? "" }
    /// The CA that signed the https endpoint's certificate.
    var caFile: String { environment["LIFEBOAT_RGW_CA"] ?? "" }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/sandbox/rgw-sandbox.sh").path

    /// The process-wide gateway, started on first use.
    static let shared: RGWServer = {
        do {
            let server = try RGWServer()
            atexit { RGWServer.stopShared() }
            return server
        } catch {
            fatalError("cannot start the RGW sandbox: \(error)")
        }
    }()

    private static func stopShared() { shared.stop() }

    init() throws {
        directory = NSTemporaryDirectory() + "lifeboat-rgw-\(UUID().uuidString.prefix(8))"
        port = try Self.freePortRange(11)
        guard try ChildProcess.run(["/bin/bash", Self.script, "start", directory, String(port)], in: "/") == 0 else {
            throw LifeboatError(
                .operationFailed, "rgw-sandbox.sh failed (are ceph-mon, ceph-osd and radosgw installed? scripts/setup.sh installs them)")
        }
        var env: [String: String] = [:]
        for line in try String(contentsOfFile: directory + "/env", encoding: .utf8).split(separator: "\n") {
            let assignment = line.replacingOccurrences(of: "export ", with: "")
            guard let eq = assignment.firstIndex(of: "=") else { continue }
            env[String(assignment[..<eq])] = String(assignment[assignment.index(after: eq)...])
        }
        environment = env
    }

    func stop() {
        _ = try? ChildProcess.run(["/bin/bash", Self.script, "stop", directory], in: "/")
        try? FileManager.default.removeItem(atPath: directory)
    }

    func stopGateway() throws {
        _ = try ChildProcess.run(["/bin/bash", Self.script, "stop-gateway", directory], in: "/")
    }

    func startGateway() throws {
        _ = try ChildProcess.run(["/bin/bash", Self.script, "start-gateway", directory], in: "/")
    }

    /// A new, unique repository location on this gateway.
    func newRepository(_ label: String) -> String {
        "s3://lb-\(label.lowercased())-\(UUID().uuidString.prefix(8).lowercased())/repo"
    }

    /// The storage behind `location` (for tests that look underneath the CLI).
    func storage(_ location: String, partSize: Int = 5 << 20) throws -> any RepositoryStorage {
        try StorageSettings.storage(for: location, settings: settings(partSize: partSize))
    }

    func settings(partSize: Int = 5 << 20) -> StorageSettings {
        var settings = StorageSettings()
        settings.partSize = partSize
        settings.environment = environment
        return settings
    }

    /// `count` consecutive free loopback ports (the gateway, the mon, the OSD's range).
    static func freePortRange(_ count: Int) throws -> Int {
        for _ in 0..<100 {
            let base = try RedisServer.freePort()
            if (1..<count).allSatisfy({ PortRegistry.shared.claim(base + $0) && RedisServer.canBind(base + $0) }) { return base }
        }
        throw LifeboatError(.operationFailed, "no free port range found")
    }
}
