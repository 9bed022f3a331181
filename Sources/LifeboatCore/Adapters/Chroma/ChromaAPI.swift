import Foundation

/// Chroma's HTTP API (v2, chromadb 1.x) as Lifeboat uses it, over the shared `HTTPClient`.
struct ChromaAPI {
    let http: HTTPClient
    let tenant: String
    let database: String

    init(url: String, tenant: String, database: String, timeout: TimeInterval = 60, tls: TLSSettings? = nil) throws {
        http = try HTTPClient(url: url, timeout: timeout, tls: tls)
        self.tenant = tenant
        self.database = database
    }

    private var base: String { "/api/v2/tenants/\(Self.escape(tenant))/databases/\(Self.escape(database))" }

    static func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? s
    }

    /// Whether the server answers its heartbeat (a short timeout, no retries).
    static func isServing(url: String, tls: TLSSettings? = nil) -> Bool {
        guard let probe = try? HTTPClient(url: url, timeout: 2, attempts: 1, tls: tls),
            let response = try? probe.request("GET", "/api/v2/heartbeat", retry: false)
        else { return false }
        return response.status == 200
    }

    func version() throws -> String {
        (try http.json("GET", "/api/v2/version") as? String) ?? "unknown"
    }

    struct Collection {
        var id: String
        var name: String
        var metadata: [String: Any]?
        var dimension: Int?
        /// `configuration_json.hnsw.space`, or the `hnsw:space` metadata key.
        var metric: String?
    }

    func collections() throws -> [Collection] {
        var all: [Collection] = []
        var offset = 0
        while true {
            guard let page = try http.json("GET", "\(base)/collections?limit=100&offset=\(offset)") as? [[String: Any]] else {
                throw LifeboatError(.operationFailed, "\(http.description): the collection list is not a JSON array")
            }
            for c in page {
                guard let id = c["id"] as? String, let name = c["name"] as? String else { continue }
                let metadata = c["metadata"] as? [String: Any]
                let space = ((c["configuration_json"] as? [String: Any])?["hnsw"] as? [String: Any])?["space"] as? String
                all.append(
                    Collection(
                        id: id, name: name, metadata: metadata, dimension: c["dimension"] as? Int,
                        metric: space ?? metadata?["hnsw:space"] as? String))
            }
            if page.count < 100 { return all }
            offset += 100
        }
    }

    func collection(named name: String) throws -> Collection? {
        let response = try http.request("GET", "\(base)/collections/\(Self.escape(name))")
        if response.status == 404 { return nil }
        guard (200..<300).contains(response.status), let c = try response.json() as? [String: Any], let id = c["id"] as? String else {
            throw http.failure("GET", "collections/\(name)", response)
        }
        let metadata = c["metadata"] as? [String: Any]
        return Collection(
            id: id, name: name, metadata: metadata, dimension: c["dimension"] as? Int,
            metric: metadata?["hnsw:space"] as? String)
    }

    func count(_ id: String) throws -> Int64 {
        guard let n = try http.json("GET", "\(base)/collections/\(id)/count") as? Int else {
            throw LifeboatError(.operationFailed, "\(http.description): the count is not a number")
        }
        return Int64(n)
    }

    /// One page of records: ids, embeddings, metadatas, documents (as Chroma returns them).
    func records(_ id: String, offset: Int, limit: Int) throws -> [String: Any] {
        guard
            let page = try http.json(
                "POST", "\(base)/collections/\(id)/get",
                body: ["offset": offset, "limit": limit, "include": ["embeddings", "metadatas", "documents"]],
                retry: true) as? [String: Any]
        else {
            throw LifeboatError(.operationFailed, "\(http.description): a page of records is not a JSON object")
        }
        return page
    }

    /// One page of records as the server sent it (JSON bytes that `add` accepts as they are).
    func recordsJSON(_ id: String, offset: Int, limit: Int) throws -> [UInt8] {
        let path = "\(base)/collections/\(id)/get"
        let response = try http.request(
            "POST", path,
            json: [
                "offset": offset, "limit": limit,
                "include": ["embeddings", "metadatas", "documents"],
            ], retry: true)
        guard (200..<300).contains(response.status) else { throw http.failure("POST", path, response) }
        return response.body
    }

    /// Adds records given as JSON bytes (`ids`, `embeddings`, `metadatas`, `documents`).
    func add(_ id: String, json: [UInt8]) throws {
        let path = "\(base)/collections/\(id)/add"
        let response = try http.upload("POST", path, contentType: "application/json", contentLength: Int64(json.count)) { emit in
            try json.withUnsafeBytes { try emit($0) }
        }
        guard (200..<300).contains(response.status) else { throw http.failure("POST", path, response) }
    }

    func rename(_ id: String, to name: String) throws {
        try http.json("PUT", "\(base)/collections/\(id)", body: ["new_name": name])
    }

    /// The ids of the `k` records nearest to `vector`, nearest first.
    func nearest(_ id: String, to vector: [Double], k: Int) throws -> [String] {
        let answer = try http.json(
            "POST", "\(base)/collections/\(id)/query",
            body: ["query_embeddings": [vector], "n_results": k, "include": ["distances"]], retry: true)
        return ((answer as? [String: Any])?["ids"] as? [[String]])?.first ?? []
    }

    func create(name: String, metadata: [String: Any]?) throws -> String {
        var body: [String: Any] = ["name": name]
        if let metadata, !metadata.isEmpty { body["metadata"] = metadata }
        guard let id = (try http.json("POST", "\(base)/collections", body: body) as? [String: Any])?["id"] as? String else {
            throw LifeboatError(.operationFailed, "\(http.description): creating collection \(name) returned no id")
        }
        return id
    }

    func delete(name: String) throws {
        try http.json("DELETE", "\(base)/collections/\(Self.escape(name))")
    }

    /// The facts a snapshot records: count, dimension, metric and probe queries per collection.
    func facts(of collections: [Collection]) throws -> [VectorCollectionFacts] {
        try collections.map { c in
            let count = try self.count(c.id)
            var probes: [VectorCollectionFacts.Probe] = []
            if count > 0 {
                let sample = try records(c.id, offset: 0, limit: VectorCollectionFacts.probesPerCollection)
                for vector in (sample["embeddings"] as? [[Double]]) ?? [] {
                    let ids = try nearest(c.id, to: vector, k: min(VectorCollectionFacts.neighbours, Int(count)))
                    probes.append(.init(vector: vector, ids: ids))
                }
            }
            return VectorCollectionFacts(name: c.name, count: count, dimension: c.dimension, metric: c.metric, probes: probes)
        }
    }

    /// Checks a restored server against recorded facts; `names` maps a recorded collection name
    /// to the one to check (a restore's temporary name).
    func check(_ recorded: [VectorCollectionFacts], exact: Bool = true, names: [String: String] = [:]) throws -> [String] {
        var ids: [String: String] = [:]
        let byName = Dictionary(try collections().map { ($0.name, $0.id) }, uniquingKeysWith: { a, _ in a })
        for facts in recorded { ids[facts.name] = byName[names[facts.name] ?? facts.name] }
        func id(_ name: String) throws -> String {
            guard let id = ids[name] else { throw LifeboatError(.operationFailed, "the restored store has no collection \(name)") }
            return id
        }
        return try VectorCollectionFacts.check(
            recorded, exact: exact, count: { try count(try id($0)) },
            query: { try nearest(try id($0), to: $1, k: $2) })
    }
}
