import Foundation

/// One version of an object in a versioned bucket (every bucket with Object Lock is versioned):
/// a DELETE without a version id adds a delete marker, which hides the object but frees nothing;
/// only a DELETE of each version id removes it, and S3 refuses that for a version still locked.
public struct ObjectVersion: Sendable, Equatable {
    /// The repository key (the prefix removed).
    public var key: String
    public var id: String
    public var isDeleteMarker: Bool
    /// The version a plain GET reads (a delete marker when the object is hidden).
    public var isLatest: Bool
    public var size: Int64
}

extension S3Storage {
    /// Every version and delete marker under `keyPrefix` (`GET ?versions`, 1,000 a page), by key
    /// in S3's order (newest first within a key).
    public func versions(_ keyPrefix: String) throws -> [ObjectVersion] {
        var found: [ObjectVersion] = []
        var marker: (key: String, version: String)?
        repeat {
            var query = [("versions", ""), ("prefix", objectKey(keyPrefix))]
            if let marker { query += [("key-marker", marker.key), ("version-id-marker", marker.version)] }
            let response = try client.send("GET", nil, query: query)
            guard response.status == 200 else { throw client.failure("list the versions under \(keyPrefix)", response) }
            let text = response.text
            for (tag, isMarker) in [("Version", false), ("DeleteMarker", true)] {
                for block in XMLText.all(tag, in: text) {
                    guard let key = XMLText.first("Key", in: block), key.hasPrefix(prefix), let id = XMLText.first("VersionId", in: block) else {
                        continue
                    }
                    found.append(
                        ObjectVersion(
                            key: String(key.dropFirst(prefix.count)), id: id, isDeleteMarker: isMarker,
                            isLatest: XMLText.first("IsLatest", in: block) == "true", size: Int64(XMLText.first("Size", in: block) ?? "") ?? 0))
                }
            }
            marker = nil
            if XMLText.first("IsTruncated", in: text) == "true", let key = XMLText.first("NextKeyMarker", in: text) {
                marker = (key, XMLText.first("NextVersionIdMarker", in: text) ?? "")
            }
        } while marker != nil
        return found
    }

    /// The retain-until date of one version (nil: not locked). A delete marker has none.
    public func lockDate(_ version: ObjectVersion) throws -> Date? {
        if version.isDeleteMarker { return nil }
        let response = try client.send("HEAD", objectKey(version.key), query: [("versionId", version.id)])
        if response.status == 404 { return nil }  // gone meanwhile
        guard response.status == 200 else { throw client.failure("HEAD \(version.key) version \(version.id)", response) }
        return response.headers["x-amz-object-lock-retain-until-date"].flatMap { Instant.parseRFC3339($0)?.date }
    }

    /// Deletes these versions for good (multi-object DELETE with version ids, 1,000 a request).
    /// Returns the keys of the versions S3 refused (a lock still in force), with its error code.
    public func deleteVersions(_ versions: [ObjectVersion]) throws -> [(key: String, code: String)] {
        var refused: [(key: String, code: String)] = []
        var start = 0
        while start < versions.count {
            let batch = versions[start..<min(versions.count, start + 1000)]
            start += batch.count
            let response = try multiDelete(batch.map { ($0.key, $0.id) })
            guard response.status == 200 else { throw client.failure("delete \(batch.count) object versions", response) }
            for error in XMLText.all("Error", in: response.text) {
                let code = XMLText.first("Code", in: error) ?? "?"
                guard code != "NoSuchKey", code != "NoSuchVersion", let key = XMLText.first("Key", in: error) else { continue }
                refused.append((key.hasPrefix(prefix) ? String(key.dropFirst(prefix.count)) : key, code))
            }
        }
        return refused
    }
}
