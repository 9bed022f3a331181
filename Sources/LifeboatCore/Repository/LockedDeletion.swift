import Foundation

/// How prune deletes in a repository with S3 Object Lock (docs/append-only.md, "Pruning under
/// Object Lock"). Such a bucket keeps versions: a DELETE without a version id only hides an
/// object behind a delete marker and frees nothing, and S3 refuses to delete a version whose
/// lock is still in force. So an object is removed by deleting every version of it, and only
/// once none is locked any more; until then it stays as it is (current and readable) and is
/// reported as held, with the date after which a prune can remove it.
final class LockedDeletion {
    let s3: S3Storage
    let now: Date
    /// Every version and delete marker under the prefixes prune deletes in, by key.
    private var versions: [String: [ObjectVersion]] = [:]
    private var lockDates: [String: Date?] = [:]
    /// What could not be removed yet (filled by `removable` and `purge`).
    private(set) var held: [Pruner.Report.Held] = []

    /// Reads the versions under `prefixes` (one listing each). Refuses a repository that has
    /// Object Lock in its config but is not on S3.
    init(repository: Repository, prefixes: [String], now: Date = Date()) throws {
        guard let s3 = repository.storage as? S3Storage else {
            throw LifeboatError(.invalidInput, "\(repository.location) has Object Lock in its config but is not on S3")
        }
        self.s3 = s3
        self.now = now
        for prefix in prefixes {
            for version in try s3.versions(prefix) { versions[version.key, default: []].append(version) }
        }
    }

    /// Keys under `prefix` whose current version is a delete marker: forgotten manifests (forget
    /// hides them; their locked versions stay until prune can remove them).
    func hidden(under prefix: String) -> [String] {
        versions.filter { $0.key.hasPrefix(prefix) && $0.value.contains { $0.isLatest && $0.isDeleteMarker } }.keys.sorted()
    }

    /// Every key with a version under `prefix` (a format-1 snapshot's `data/<id>/`).
    func keys(under prefix: String) -> [String] {
        versions.keys.filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// Bytes of every version of `key`.
    func bytes(_ key: String) -> Int64 { versions[key, default: []].reduce(0) { $0 + $1.size } }

    /// The latest lock among the versions of `key` that is still in force, or nil (one HEAD per
    /// version, remembered).
    func lockedUntil(_ key: String) throws -> Date? {
        if let known = lockDates[key] { return known }
        var latest: Date?
        for version in versions[key, default: []] {
            if let date = try s3.lockDate(version), date > now, date > (latest ?? .distantPast) { latest = date }
        }
        lockDates[key] = latest
        return latest
    }

    /// Splits `keys` into those every version of which may go now and those held (recorded in
    /// `held`).
    func removable(_ keys: [String]) throws -> [String] {
        var free: [String] = []
        for key in keys {
            if let date = try lockedUntil(key) {
                held.append(Pruner.Report.Held(key: key, until: Timestamp.rfc3339(date), bytes: bytes(key)))
            } else {
                free.append(key)
            }
        }
        return free
    }

    /// Deletes every version of each key (which `removable` found free): the data first, then
    /// the delete markers, so a key whose data S3 refuses stays as it was (hidden or current).
    /// A refusal is an error (no permission, or a lock S3's clock still sees in force): what was
    /// deleted before it stays deleted and a later prune finishes. Returns the keys removed.
    func purge(_ keys: [String]) throws -> [String] {
        let data = keys.flatMap { versions[$0, default: []].filter { !$0.isDeleteMarker } }
        var refused = try s3.deleteVersions(data)
        let refusedKeys = Set(refused.map(\.key))
        let markers = keys.filter { !refusedKeys.contains($0) }.flatMap { versions[$0, default: []].filter(\.isDeleteMarker) }
        refused += try s3.deleteVersions(markers)
        if let first = refused.first {
            throw LifeboatError(
                .operationFailed,
                "\(s3.location): S3 refused to delete \(refused.count) object version\(refused.count == 1 ? "" : "s") whose lock prune saw ended; the first, \(first.key): \(first.code)",
                fix: "prune needs s3:DeleteObjectVersion (the admin's credentials) and a clock close to S3's; a later prune finishes")
        }
        for key in keys { versions[key] = nil }
        return keys
    }
}
