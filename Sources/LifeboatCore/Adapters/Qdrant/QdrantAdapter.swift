import Foundation

/// Source type `qdrant`, through Qdrant's snapshot API.
///
/// Policy keys: `url` (`http://127.0.0.1:6333`), `api_key_file` (first line) or `api_key_env`
/// (an environment variable, default `QDRANT_API_KEY`), `collections` (default: every
/// collection the server has at capture), for an `https://` URL `ca_file`, `cert_file`,
/// `key_file`, `insecure_skip_verify`, and `mode`:
/// - `collections` (default): per collection, `POST /collections/{c}/snapshots?wait=true`, the
///   snapshot downloaded into entry `collections/{c}.snapshot` (its SHA-256 compared with the
///   checksum the server reports), then the server's copy deleted;
/// - `full`: the same for a full-storage snapshot (`/snapshots`) as `full/{name}`.
/// Snapshots are per node: on a cluster, capture each node (one source per node's URL).
/// Restore uploads each snapshot (`POST /collections/{c}/snapshots/upload?priority=snapshot&
/// checksum=…`, so the server itself refuses damaged bytes) or asks the server to recover from a
/// location (`--recover-from PREFIX`: `PREFIX/{c}.snapshot`), then checks counts and probes.
public struct QdrantAdapter: SourceAdapter {
    public static let type = "qdrant"
    public static let settingKeys = ["url", "api_key_file", "api_key_env", "collections", "mode", "timeout"] + TLSKeys.names

    public enum Mode: String, Sendable { case collections, full }

    public let name: String
    public var url = "http://127.0.0.1:6333"
    public var apiKeyFile: String?
    public var apiKeyEnv = "QDRANT_API_KEY"
    public var collections: [String]?
    public var mode = Mode.collections
    public var timeout: Double = 3600
    /// For an https URL: the policy's TLS keys (nil: the system trust store).
    public var tls: TLSSettings?

    public init(name: String) {
        self.name = name
    }

    public static func configure(name: String, settings: PolicyNode) throws -> QdrantAdapter {
        var adapter = QdrantAdapter(name: name)
        var tls = TLSSettings()
        for (key, value) in try settings.mapping() {
            if try TLSKeys.apply(key, value, to: &tls, file: settings.file) { continue }
            switch key {
            case "url": adapter.url = try value.string()
            case "api_key_file": adapter.apiKeyFile = PolicyLoader.resolve(try value.string(), relativeTo: settings.file)
            case "api_key_env": adapter.apiKeyEnv = try value.string()
            case "collections": adapter.collections = try value.sequence().map { try $0.string() }
            case "timeout": adapter.timeout = try value.seconds()
            case "mode":
                let text = try value.string()
                guard let m = Mode(rawValue: text) else { throw value.error("unknown mode \"\(text)\"", fix: "use collections or full") }
                adapter.mode = m
            default: break
            }
        }
        try TLSKeys.check(tls, in: settings)
        if tls.isCustomized { adapter.tls = tls }
        do {
            _ = try HTTPClient(url: adapter.url, tls: adapter.tls)
        } catch let error as LifeboatError {
            throw settings.error(error.message, fix: error.fix)
        }
        return adapter
    }

    /// The API key from `api_key_file` or the environment; never from argv, never logged.
    static func apiKey(file: String?, env: String) throws -> String? {
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw LifeboatError(.invalidInput, "cannot read api_key_file \(file)", fix: "check the path and its permissions")
            }
            return text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        }
        return ProcessInfo.processInfo.environment[env].flatMap { $0.isEmpty ? nil : $0 }
    }

    public func capture(into writer: ArchiveWriter, context: CaptureContext) async throws -> CaptureOutcome {
        let api = try QdrantAPI(url: url, apiKey: try Self.apiKey(file: apiKeyFile, env: apiKeyEnv), timeout: timeout, tls: tls)
        let version = try api.version()
        let names = try collections ?? api.collections()
        let facts = try names.map { try api.facts($0) }
        var snapshots: [String: JSONValue] = [:]
        let mtime = timespec(tv_sec: Int(context.started.timeIntervalSince1970), tv_nsec: 0)
        let targets: [String?] = mode == .full ? [nil] : names
        for collection in targets {
            let snapshot = try api.createSnapshot(of: collection)
            defer { try? api.deleteSnapshot(of: collection, snapshot.name) }  // the server's copy is ours to remove
            let entry = collection.map { "collections/\($0).snapshot" } ?? "full/\(snapshot.name)"
            let record = try writer.addStream(path: entry, size: snapshot.size, mtime: mtime) { emit in
                try api.http.download(api.snapshotPath(collection, snapshot.name)) { try emit($0) }
            }
            if let checksum = snapshot.checksum, checksum.lowercased() != record.sha256 {
                throw LifeboatError(
                    .operationFailed, "snapshot \(snapshot.name) arrived with SHA-256 \(record.sha256 ?? "?"), but the server reports \(checksum)")
            }
            snapshots[collection ?? "(full)"] = .object([
                "name": .string(snapshot.name), "size": .int(snapshot.size),
                "server_checksum": snapshot.checksum.map { .string($0) } ?? .null,
            ])
        }
        return CaptureOutcome(
            metadata: [
                "mode": .string(mode.rawValue),
                "server_version": .string(version),
                "url": .string(url),
                "collections": VectorCollectionFacts.metadata(facts),
                "snapshots": .object(snapshots),
            ].merging(tls?.metadata ?? [:]) { $1 })
    }

    /// Its server through the API (uploaded, or fetched by the server itself), or the snapshot
    /// files in a directory.
    public static func restoreTargets(for component: Manifest.Component) -> [RestoreTarget.Kind] { [.apiServer, .serverFetch, .directory] }

    public static func defaultRestoreTarget(for component: Manifest.Component) -> RestoreTarget? { .apiServer(url: nil) }

    public static func restore(
        _ component: Manifest.Component, from reader: ComponentReader,
        to target: RestoreTarget, options: RestoreOptions
    ) async throws -> RestoreOutcome {
        try QdrantRestore(component: component, target: target, options: options, configured: options.configuredSource as? QdrantAdapter)
            .run(reader: reader)
    }
}
