import Foundation

/// Restores Qdrant collections from their snapshots:
/// - into a server (`--to-url`, default the source's): each `collections/{c}.snapshot` is
///   streamed as a multipart upload to `POST /collections/{c}/snapshots/upload?priority=snapshot`
///   with the manifest's SHA-256 as `checksum`, so the server refuses bytes that are not the
///   captured ones; or, with `--recover-from PREFIX`, the server is asked to fetch
///   `PREFIX/{c}.snapshot` itself (`PUT /collections/{c}/snapshots/recover`, same checksum).
///   An existing collection is refused unless `force`. Counts and probe queries are checked.
/// - into a directory (`--to DIR`): the snapshot files, e.g. for a full-storage snapshot, which
///   Qdrant restores at start (`qdrant --storage-snapshot FILE`).
struct QdrantRestore {
    let component: Manifest.Component
    let target: RestoreTarget
    let options: RestoreOptions
    let configured: QdrantAdapter?

    func run(reader: ComponentReader) throws -> RestoreOutcome {
        if case .directory(let directory) = target {
            var outcome = try FileTreeRestore(target: directory, force: options.force, progress: options.progress).run(reader: reader)
            outcome.checks.append(
                "snapshot files written; upload one with POST /collections/{c}/snapshots/upload, or start Qdrant with --storage-snapshot for a full snapshot"
            )
            return outcome
        }
        guard VectorStoreMetadata(component).mode != "full" else {
            throw LifeboatError(
                .invalidInput, "a full-storage Qdrant snapshot is restored when Qdrant starts, not through the API",
                fix: "write it out with --to DIR, then start qdrant with --storage-snapshot DIR/full/NAME")
        }
        var requested: String?
        var location: String?
        switch target {
        case .apiServer(let url): requested = url
        case .serverFetch(let from, let url): (location, requested) = (from, url)
        default: throw LifeboatError(.invalidInput, "qdrant source \"\(component.source)\" cannot be restored to \(target.kind.flags)")
        }
        guard let url = requested ?? configured?.url ?? VectorStoreMetadata(component).url else {
            throw LifeboatError(.invalidInput, "restoring qdrant source \"\(component.source)\" needs a server", fix: "add --to-url http://HOST:6333")
        }
        let key = try QdrantAdapter.apiKey(file: configured?.apiKeyFile, env: configured?.apiKeyEnv ?? "QDRANT_API_KEY")
        let api = try QdrantAPI(url: url, apiKey: key, tls: configured?.tls ?? TLSSettings(recordedIn: component.metadata))
        let recorded = VectorStoreMetadata(component).collections
        for facts in recorded where try api.exists(facts.name) && !options.force {
            throw LifeboatError(
                .invalidInput, "collection \(facts.name) exists on \(url)",
                fix: "add --force to overwrite it from the snapshot, or restore into another server with --to-url")
        }
        var restored: [String] = []
        var bytes: Int64 = 0
        while let entry = try reader.next() {
            let path = entry.record.path
            guard path.hasPrefix("collections/"), path.hasSuffix(".snapshot") else { continue }
            let collection = String(path.dropFirst("collections/".count).dropLast(".snapshot".count))
            let checksum = entry.record.sha256 ?? ""
            if let location {
                try reader.readData { _ in }  // proven all the same
                let target = location.hasSuffix("/") ? location : location + "/"
                try api.http.json(
                    "PUT", "/collections/\(QdrantAPI.escape(collection))/snapshots/recover?wait=true",
                    body: ["location": target + "\(collection).snapshot", "priority": "snapshot", "checksum": checksum])
            } else {
                try upload(collection, entry: entry, checksum: checksum, api: api, reader: reader)
            }
            bytes += entry.record.size
            restored.append(collection)
            options.progress.update("restoring \(component.source): \(restored.count) collections")
        }
        options.progress.clear()
        let checks = try api.check(recorded)
        return RestoreOutcome(
            target: url, entries: component.entryCount, bytes: bytes,
            checks: ["\(location == nil ? "uploaded" : "recovered") \(restored.count) collection snapshots, checksums verified by the server"]
                + checks)
    }

    /// Streams the entry's content as the `snapshot` field of a multipart/form-data body.
    private func upload(
        _ collection: String, entry: ComponentReader.Entry, checksum: String, api: QdrantAPI,
        reader: ComponentReader
    ) throws {
        let boundary = "lifeboat-\(Hex.random(bytes: 12))"
        let head = Array(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"snapshot\"; filename=\"\(collection).snapshot\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                .utf8)
        let tail = Array("\r\n--\(boundary)--\r\n".utf8)
        let path = "/collections/\(QdrantAPI.escape(collection))/snapshots/upload?wait=true&priority=snapshot&checksum=\(checksum)"
        let response = try api.http.upload(
            "POST", path, contentType: "multipart/form-data; boundary=\(boundary)",
            contentLength: Int64(head.count) + entry.record.size + Int64(tail.count)
        ) { emit in
            try head.withUnsafeBytes { try emit($0) }
            try reader.readData { try emit($0) }
            try tail.withUnsafeBytes { try emit($0) }
        }
        guard (200..<300).contains(response.status) else { throw api.http.failure("POST", path, response) }
    }
}
