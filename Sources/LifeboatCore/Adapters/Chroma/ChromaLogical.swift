import Foundation

/// Logical Chroma capture: every collection through the API, as entries
/// `collections/NNNNNN/collection.json` (name, metadata, count) and
/// `collections/NNNNNN/page-NNNNNN.json` (up to 1,000 records: ids, embeddings, metadatas,
/// documents, exactly as the server's `get` sent them), in collection order. The pages are read
/// up to the count taken when the collection's export began.
struct ChromaExport {
    static let pageSize = 1000
    let api: ChromaAPI

    /// Returns the number of records exported.
    func capture(_ collections: [ChromaAPI.Collection], into writer: ArchiveWriter, mtime: Date) throws -> Int64 {
        let time = timespec(tv_sec: Int(mtime.timeIntervalSince1970), tv_nsec: 0)
        var total: Int64 = 0
        for (i, c) in collections.enumerated() {
            let folder = SegmentedStream.partName("collections/", i + 1)
            let count = try api.count(c.id)
            let header: [String: Any] = ["name": c.name, "metadata": c.metadata ?? [:], "count": count]
            try writer.addBytes(
                path: "\(folder)/collection.json", Array(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])),
                mtime: time)
            for (page, offset) in stride(from: 0, to: Int(count), by: Self.pageSize).enumerated() {
                let json = try api.recordsJSON(c.id, offset: offset, limit: Self.pageSize)
                try writer.addBytes(path: SegmentedStream.partName("\(folder)/page-", page + 1) + ".json", json, mtime: time)
            }
            total += count
        }
        return total
    }
}

/// Logical Chroma restore into the server at `--to-url` (default the source's). Each collection
/// is re-created under a temporary name and its pages re-added as stored; only when every entry
/// and the stored file are proven and the counts and probe queries agree are the temporary
/// collections renamed to their names. A collection of that name already there is refused
/// unless `force`, and then renamed aside (`NAME-lifeboat-previous-…`), not deleted. On failure
/// the temporary collections are deleted and nothing else has changed.
struct ChromaImport {
    let component: Manifest.Component
    /// `--to-url` (nil: the server it was captured from).
    let url: String?
    let options: RestoreOptions

    func run(reader: ComponentReader) throws -> RestoreOutcome {
        let recorded = VectorStoreMetadata(component)
        guard let url = url ?? recorded.url else {
            throw LifeboatError(.invalidInput, "restoring chroma source \"\(component.source)\" needs a server", fix: "add --to-url http://HOST:PORT")
        }
        let api = try ChromaAPI(
            url: url, tenant: recorded.tenant, database: recorded.database,
            tls: TLSSettings(recordedIn: component.metadata))
        let collections = recorded.collections
        var existing: [String: String] = [:]
        for facts in collections {
            guard let found = try api.collection(named: facts.name) else { continue }
            guard options.force else {
                throw LifeboatError(
                    .invalidInput, "collection \(facts.name) exists on \(url)",
                    fix: "add --force to replace it (it is renamed aside, not deleted), or restore into another server with --to-url")
            }
            existing[facts.name] = found.id
        }
        let suffix = "-lifeboat-\(Hex.random(bytes: 4))"
        var temporary: [String: (id: String, name: String)] = [:]
        var current: String?
        var pages = 0
        var bytes: Int64 = 0
        do {
            while let entry = try reader.next() {
                var content: [UInt8] = []
                try reader.readData { content += $0 }
                bytes += Int64(content.count)
                if entry.record.path.hasSuffix("/collection.json") {
                    guard let object = try JSONSerialization.jsonObject(with: Data(content)) as? [String: Any],
                        let name = object["name"] as? String
                    else {
                        throw LifeboatError(.integrity, "entry \(entry.record.path) names no collection")
                    }
                    let metadata = (object["metadata"] as? [String: Any]).flatMap { $0.isEmpty ? nil : $0 }
                    let id = try api.create(name: name + suffix, metadata: metadata)
                    temporary[name] = (id, name + suffix)
                    current = id
                } else if let id = current {
                    try api.add(id, json: content)
                    pages += 1
                    options.progress.update("restoring \(component.source): \(pages) pages")
                }
            }
            options.progress.clear()
            var checks = try api.check(collections, exact: false, names: temporary.mapValues(\.name))
            // Proven: swap the names.
            var aside: [String] = []
            for (name, temp) in temporary.sorted(by: { $0.key < $1.key }) {
                if let old = existing[name] {
                    let previous = "\(name)-lifeboat-previous-\(Hex.random(bytes: 3))"
                    try api.rename(old, to: previous)
                    aside.append(previous)
                }
                try api.rename(temp.id, to: name)
            }
            checks.insert(
                "re-added \(pages) pages into \(temporary.count) collections"
                    + (aside.isEmpty ? "" : "; the collections replaced are kept as \(aside.joined(separator: ", "))"), at: 0)
            return RestoreOutcome(target: url, entries: component.entryCount, bytes: bytes, checks: checks)
        } catch {
            options.progress.clear()
            for temp in temporary.values { try? api.delete(name: temp.name) }
            throw error
        }
    }
}
