import Foundation
import LifeboatCore

/// A real Chroma server (chromadb from PyPI, in the venv scripts/sandbox/chroma-venv.sh makes) on a
/// loopback port, started by scripts/sandbox/chroma-sandbox.sh and stopped when released.
final class ChromaServer {
    let port: Int
    let directory: String
    var url: String { "http://127.0.0.1:\(port)" }
    var persistDirectory: String { directory + "/data" }
    var startCommand: String { "\(PostgresServer.sandboxScripts)/chroma-sandbox.sh start \(directory) \(port)" }
    var stopCommand: String { "\(PostgresServer.sandboxScripts)/chroma-sandbox.sh stop \(directory)" }

    init(in directory: String) throws {
        self.directory = directory
        port = try RedisServer.freePort()
        guard try ChildProcess.run(["/bin/sh", "-c", startCommand], in: "/") == 0 else {
            throw LifeboatError(.operationFailed, "chroma-sandbox.sh failed (scripts/sandbox/chroma-venv.sh installs chromadb from PyPI)")
        }
    }

    deinit { _ = try? ChildProcess.run(["/bin/sh", "-c", stopCommand], in: "/") }

    var collectionsPath: String { "/api/v2/tenants/default_tenant/databases/default_database/collections" }

    func http() throws -> HTTPClient { try HTTPClient(url: url) }

    /// Adds `count` normalized 384-dimensional vectors around 40 cluster centres (embedding-like,
    /// so approximate search is meaningful) with metadata and documents, through the Python client.
    func populate(collection: String, count: Int, space: String, seed: Int) throws {
        let venv = URL(fileURLWithPath: PostgresServer.sandboxScripts).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
            ".venv-chroma"
        ).path
        let script = """
            import chromadb, numpy as np
            rng = np.random.default_rng(\(seed))
            centres = rng.normal(size=(40, 384))
            c = chromadb.HttpClient(host="127.0.0.1", port=\(port))
            col = c.get_or_create_collection("\(collection)", metadata={"hnsw:space": "\(space)"})
            for start in range(0, \(count), 2000):
                n = min(2000, \(count) - start)
                v = centres[rng.integers(0, 40, n)] + 0.3 * rng.normal(size=(n, 384))
                v = v / np.linalg.norm(v, axis=1, keepdims=True)
                ids = [f"\(collection)-{i}" for i in range(start, start + n)]
                col.add(ids=ids, embeddings=v.tolist(), metadatas=[{"n": i} for i in range(start, start + n)],
                        documents=[f"chunk {i} of \(collection)" for i in range(start, start + n)])
            """
        let path = directory + "/populate-\(collection).py"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        guard try ChildProcess.run([venv + "/bin/python", path], in: "/") == 0 else {
            throw LifeboatError(.operationFailed, "populating \(collection) failed")
        }
    }

    /// Collection name → record count, through the HTTP API.
    func counts() throws -> [String: Int] {
        let client = try http()
        var result: [String: Int] = [:]
        for c in (try client.json("GET", collectionsPath) as? [[String: Any]]) ?? [] {
            let id = c["id"] as! String
            result[c["name"] as! String] = try client.json("GET", "\(collectionsPath)/\(id)/count") as? Int
        }
        return result
    }

    var isServing: Bool { (try? http().request("GET", "/api/v2/heartbeat", retry: false).status) == 200 }
}
