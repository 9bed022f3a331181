import Foundation

/// Source type `chroma` (chromadb 1.x).
///
/// Policy keys: `url` (the server, `http://127.0.0.1:8000`), `path` (its persist directory,
/// `chroma run --path`), `stop` and `start` (shell commands that stop and start the server),
/// `mode`, `tenant` (default_tenant), `database` (default_database); for an `https://` URL,
/// `ca_file`, `cert_file`, `key_file`, `insecure_skip_verify`.
///
/// - `mode: directory` (default): the persist directory — `chroma.sqlite3` with any journal and
///   every segment directory — copied while the server is stopped. A copy taken while it runs can
///   pair HNSW files with an already purged ingest queue, so the server is quiesced with `stop`,
///   copied, and started with `start`; the downtime (stop → heartbeat again) is measured and
///   recorded. Restore swaps the directory in atomically and keeps the old one aside.
/// - `mode: logical`: every collection exported through the HTTP API in pages (ids, embeddings,
///   metadatas, documents), with no downtime; restore re-adds them (`--to-url`). The index is
///   rebuilt on restore (slower for big collections), and writes during the export may land in
///   one page and not another: it is not one point in time across collections.
/// Both record per collection the count, dimension, distance metric and probe queries.
public struct ChromaAdapter: SourceAdapter {
    public static let type = "chroma"
    public static let settingKeys = ["url", "path", "stop", "start", "mode", "tenant", "database"] + TLSKeys.names

    public enum Mode: String, Sendable { case directory, logical }

    public let name: String
    public var url = "http://127.0.0.1:8000"
    public var path: String?
    public var stop: String?
    public var start: String?
    public var mode = Mode.directory
    public var tenant = "default_tenant"
    public var database = "default_database"
    /// For an https URL: the policy's TLS keys (nil: the system trust store).
    public var tls: TLSSettings?

    public init(name: String) {
        self.name = name
    }

    public static func configure(name: String, settings: PolicyNode) throws -> ChromaAdapter {
        var adapter = ChromaAdapter(name: name)
        var tls = TLSSettings()
        for (key, value) in try settings.mapping() {
            if try TLSKeys.apply(key, value, to: &tls, file: settings.file) { continue }
            switch key {
            case "url": adapter.url = try value.string()
            case "path": adapter.path = PolicyLoader.resolve(try value.string(), relativeTo: settings.file)
            case "stop": adapter.stop = try value.string()
            case "start": adapter.start = try value.string()
            case "tenant": adapter.tenant = try value.string()
            case "database": adapter.database = try value.string()
            case "mode":
                let text = try value.string()
                guard let m = Mode(rawValue: text) else {
                    throw value.error(
                        "unknown mode \"\(text)\"", fix: "use directory (stop, copy, start) or logical (export through the API, no downtime)")
                }
                adapter.mode = m
            default: break
            }
        }
        if adapter.mode == .directory {
            guard adapter.path != nil else {
                throw settings.error(
                    "source \"\(name)\" of type chroma has no `path:`", fix: "add `path:` (the server's --path), or use mode: logical")
            }
            guard adapter.stop != nil, adapter.start != nil else {
                throw settings.error(
                    "source \"\(name)\": mode directory needs `stop:` and `start:` commands",
                    fix: "a copy of a running Chroma can be inconsistent; give the shell commands that stop and start it, or use mode: logical")
            }
        }
        try TLSKeys.check(tls, in: settings)
        if tls.isCustomized { adapter.tls = tls }
        do {
            _ = try HTTPClient(url: adapter.url, tls: adapter.tls)  // a bad URL is a policy error, found now
        } catch let error as LifeboatError {
            throw settings.error(error.message, fix: error.fix)
        }
        return adapter
    }

    func api(timeout: TimeInterval = 60) throws -> ChromaAPI {
        try ChromaAPI(url: url, tenant: tenant, database: database, timeout: timeout, tls: tls)
    }

    var serviceControl: ServiceControl? {
        guard let stop, let start else { return nil }
        let url = self.url
        let tls = self.tls
        return ServiceControl(stop: stop, start: start, isServing: { ChromaAPI.isServing(url: url, tls: tls) }, name: name)
    }

    public func capture(into writer: ArchiveWriter, context: CaptureContext) async throws -> CaptureOutcome {
        let api = try self.api()
        let version = try api.version()
        let collections = try api.collections()
        let facts = try api.facts(of: collections)
        var metadata: [String: JSONValue] = [
            "mode": .string(mode.rawValue),
            "server_version": .string(version),
            "url": .string(url),
            "tenant": .string(tenant),
            "database": .string(database),
            "collections": VectorCollectionFacts.metadata(facts),
        ].merging(tls?.metadata ?? [:]) { $1 }
        switch mode {
        case .logical:
            let exported = try ChromaExport(api: api).capture(collections, into: writer, mtime: context.started)
            metadata["records"] = .int(exported)
            return CaptureOutcome(metadata: metadata, recoveryPoint: context.started)
        case .directory:
            guard let path, let control = serviceControl else { throw LifeboatError(.invalidInput, "source \"\(name)\": no path or stop/start") }
            // The copy reflects the moment the server had stopped, when the copy starts.
            var stoppedAt = Date()
            let (walker, downtime) = try control.whileStopped { () throws -> FileTreeCapture in
                stoppedAt = Date()
                var walker = FileTreeCapture(root: path, exclude: [], writer: writer, source: name)
                try walker.run()
                return walker
            }
            metadata["path"] = .string(path)
            metadata["files"] = .int(Int64(walker.files))
            metadata["downtime_seconds"] = .double((downtime * 1000).rounded() / 1000)
            return CaptureOutcome(metadata: metadata, warnings: walker.warnings, recoveryPoint: stoppedAt)
        }
    }

    /// Directory mode: the persist directory (the policy's stop and start commands quiesce the
    /// server). Logical mode: the API server.
    public static func restoreTargets(for component: Manifest.Component) -> [RestoreTarget.Kind] {
        VectorStoreMetadata(component).mode == "logical" ? [.apiServer] : [.persistDirectory]
    }

    public static func defaultRestoreTarget(for component: Manifest.Component) -> RestoreTarget? {
        VectorStoreMetadata(component).mode == "logical" ? .apiServer(url: nil) : .persistDirectory(nil)
    }

    public static func preflight(_ component: Manifest.Component, to target: RestoreTarget, options: RestoreOptions) throws -> Bool {
        guard case .persistDirectory(let path) = target else { return false }
        return try ChromaDirectoryRestore(component: component, path: path, options: options, configured: options.configuredSource as? ChromaAdapter)
            .preflight()
    }

    public static func restoreDescription(for component: Manifest.Component) -> String {
        "chroma source \"\(component.source)\" (\(VectorStoreMetadata(component).mode ?? "directory") mode)"
    }

    public static func restore(
        _ component: Manifest.Component, from reader: ComponentReader,
        to target: RestoreTarget, options: RestoreOptions
    ) async throws -> RestoreOutcome {
        let configured = options.configuredSource as? ChromaAdapter
        switch target {
        case .apiServer(let url):
            return try ChromaImport(component: component, url: url, options: options).run(reader: reader)
        case .persistDirectory(let path):
            return try ChromaDirectoryRestore(component: component, path: path, options: options, configured: configured).run(reader: reader)
        default:
            throw LifeboatError(.invalidInput, "\(restoreDescription(for: component)) cannot be restored to \(target.kind.flags)")
        }
    }
}
