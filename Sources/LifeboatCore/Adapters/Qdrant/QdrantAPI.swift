import Foundation

/// Qdrant's HTTP API as Lifeboat uses it (snapshots, collection info, scroll and search for
/// probes), over the shared `HTTPClient`; the API key travels in the `api-key` header only.
struct QdrantAPI {
    let http: HTTPClient

    init(url: String, apiKey: String?, timeout: TimeInterval = 600, tls: TLSSettings? = nil) throws {
        http = try HTTPClient(url: url, headers: apiKey.map { ["api-key": $0] } ?? [:], timeout: timeout, tls: tls)
    }

    static func escape(_ s: String) -> String { ChromaAPI.escape(s) }

    /// `result` of Qdrant's envelope.
    private func result(_ method: String, _ path: String, body: Any? = nil, retry: Bool? = nil) throws -> Any? {
        (try http.json(method, path, body: body, retry: retry) as? [String: Any])?["result"]
    }

    func version() throws -> String {
        ((try http.json("GET", "/") as? [String: Any])?["version"] as? String) ?? "unknown"
    }

    func collections() throws -> [String] {
        (((try result("GET", "/collections") as? [String: Any])?["collections"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String }
    }

    /// Whether collection `name` exists.
    func exists(_ name: String) throws -> Bool {
        let response = try http.request("GET", "/collections/\(Self.escape(name))")
        if response.status == 404 { return false }
        guard (200..<300).contains(response.status) else { throw http.failure("GET", "/collections/\(name)", response) }
        return true
    }

    /// Points count, vector size and distance of a collection (single unnamed vector).
    func info(_ name: String) throws -> (count: Int64, dimension: Int?, distance: String?) {
        let info = try result("GET", "/collections/\(Self.escape(name))") as? [String: Any]
        let vectors = ((info?["config"] as? [String: Any])?["params"] as? [String: Any])?["vectors"] as? [String: Any]
        return (Int64(info?["points_count"] as? Int ?? 0), vectors?["size"] as? Int, vectors?["distance"] as? String)
    }

    func nearest(_ name: String, to vector: [Double], k: Int) throws -> [String] {
        let hits =
            try result("POST", "/collections/\(Self.escape(name))/points/search", body: ["vector": vector, "limit": k], retry: true)
            as? [[String: Any]]
        return (hits ?? []).map { "\($0["id"] ?? "")" }
    }

    func facts(_ name: String) throws -> VectorCollectionFacts {
        let (count, dimension, distance) = try info(name)
        var probes: [VectorCollectionFacts.Probe] = []
        let page =
            try result(
                "POST", "/collections/\(Self.escape(name))/points/scroll",
                body: ["limit": VectorCollectionFacts.probesPerCollection, "with_vector": true, "with_payload": false],
                retry: true) as? [String: Any]
        for point in (page?["points"] as? [[String: Any]]) ?? [] {
            guard let vector = point["vector"] as? [Double] else { continue }
            probes.append(.init(vector: vector, ids: try nearest(name, to: vector, k: min(VectorCollectionFacts.neighbours, Int(count)))))
        }
        return VectorCollectionFacts(name: name, count: count, dimension: dimension, metric: distance, probes: probes)
    }

    /// A snapshot the server made: its name, size and SHA-256.
    struct Snapshot {
        var name: String
        var size: Int64
        var checksum: String?
    }

    /// `POST /collections/{c}/snapshots?wait=true`, or `/snapshots` for the full storage (nil).
    func createSnapshot(of collection: String?) throws -> Snapshot {
        let path = (collection.map { "/collections/\(Self.escape($0))" } ?? "") + "/snapshots?wait=true"
        guard let r = try result("POST", path, retry: false) as? [String: Any], let name = r["name"] as? String,
            let size = r["size"] as? Int
        else {
            throw LifeboatError(.operationFailed, "\(http.description): creating a snapshot returned no name and size")
        }
        return Snapshot(name: name, size: Int64(size), checksum: r["checksum"] as? String)
    }

    func snapshotPath(_ collection: String?, _ name: String) -> String {
        (collection.map { "/collections/\(Self.escape($0))" } ?? "") + "/snapshots/\(Self.escape(name))"
    }

    func deleteSnapshot(of collection: String?, _ name: String) throws {
        try http.json("DELETE", snapshotPath(collection, name) + "?wait=true")
    }

    /// Checks a restored server against recorded facts (the same index: exact).
    func check(_ recorded: [VectorCollectionFacts]) throws -> [String] {
        try VectorCollectionFacts.check(recorded, count: { try info($0).count }, query: { try nearest($0, to: $1, k: $2) })
    }
}
