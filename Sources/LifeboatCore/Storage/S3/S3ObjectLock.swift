import Foundation

/// S3 Object Lock (docs/append-only.md, "Object Lock"): a retention date on an object version,
/// before which nobody (COMPLIANCE), or nobody without `s3:BypassGovernanceRetention`
/// (GOVERNANCE), can delete that version or shorten the date.
public enum ObjectLockMode: String, Codable, Sendable {
    case governance, compliance

    /// As S3 spells it in headers and XML.
    var header: String { rawValue.uppercased() }
}

/// The retention date the objects written now get: set by a backup for what it writes (its
/// snapshot's lock date), read by every PUT and multipart upload of the storage it belongs to.
public final class ObjectRetention: @unchecked Sendable {
    private let lock = NSLock()
    private var current: (mode: ObjectLockMode, until: Date)?

    public init() {}

    public func set(_ mode: ObjectLockMode, until: Date) { lock.withLock { current = (mode, until) } }
    public func clear() { lock.withLock { current = nil } }
    var value: (mode: ObjectLockMode, until: Date)? { lock.withLock { current } }

    /// Only what snapshots are made of is locked: lock records, run state and drill reports are
    /// deleted or replaced by design, and WAL is not locked yet.
    static func applies(to key: String) -> Bool {
        ["packs/", "index/", "snapshots/", "data/"].contains { key.hasPrefix($0) }
    }
}

extension S3Storage {
    /// The headers of a new object at `key`: the bucket owner's ACL (`newObjectHeaders`), and
    /// the lock of `retention` where it applies (with the Content-MD5 S3 requires beside it).
    func headers(forNew key: String, body: [UInt8]?) -> [String: String] {
        var headers = Self.newObjectHeaders
        if let (mode, until) = retention.value, ObjectRetention.applies(to: key) {
            headers["x-amz-object-lock-mode"] = mode.header
            headers["x-amz-object-lock-retain-until-date"] = Timestamp.rfc3339(until)
            if let body { headers["Content-MD5"] = ContentMD5.header(for: body) }
        }
        return headers
    }

    /// Whether the bucket was created with Object Lock (`GET ?object-lock`).
    public func bucketHasObjectLock() throws -> Bool {
        let response = try client.send("GET", nil, query: [("object-lock", "")])
        if response.status == 404 { return false }
        guard response.status == 200 else { throw client.failure("read the Object Lock setting of bucket \(bucket)", response) }
        return XMLText.first("ObjectLockEnabled", in: response.text) == "Enabled"
    }

    /// Creates the bucket with Object Lock enabled; an existing bucket must already have it.
    public func ensureBucketWithObjectLock() throws {
        let probe = try client.send("HEAD", nil)
        if probe.status == 200 {
            guard try bucketHasObjectLock() else {
                throw LifeboatError(
                    .invalidInput, "bucket \(bucket) exists without Object Lock, which can only be enabled when a bucket is created",
                    fix: "give init a new bucket: s3://NEW-BUCKET/PREFIX")
            }
            return
        }
        let response = try client.send("PUT", nil, headers: ["x-amz-bucket-object-lock-enabled": "true"])
        guard (200..<300).contains(response.status) else { throw client.failure("create bucket \(bucket) with Object Lock", response) }
    }

    /// The lock of the current version of `key`: its mode, date and version id; nil when absent.
    public func objectLock(_ key: String) throws -> (mode: String?, until: Date?, version: String?)? {
        let response = try client.send("HEAD", objectKey(key))
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw client.failure("HEAD \(key)", response) }
        let until = response.headers["x-amz-object-lock-retain-until-date"].flatMap { Instant.parseRFC3339($0)?.date }
        return (response.headers["x-amz-object-lock-mode"], until, response.headers["x-amz-version-id"])
    }

    /// Sets the lock of one version (the current one when `version` is nil) to `until`. S3
    /// refuses a date earlier than the one set, unless `bypassGovernance` on a GOVERNANCE lock
    /// by a user allowed `s3:BypassGovernanceRetention` (the admin shortening a lock).
    public func setObjectLock(_ key: String, version: String?, mode: ObjectLockMode, until: Date, bypassGovernance: Bool = false) throws {
        let body = Array(
            "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>\(mode.header)</Mode><RetainUntilDate>\(Timestamp.rfc3339(until))</RetainUntilDate></Retention>"
                .utf8)
        var query = [("retention", "")]
        if let version { query.append(("versionId", version)) }
        var headers = ["Content-MD5": ContentMD5.header(for: body)]
        if bypassGovernance { headers["x-amz-bypass-governance-retention"] = "true" }
        let response = try client.send("PUT", objectKey(key), query: query, headers: headers, body: body)
        guard (200..<300).contains(response.status) else { throw client.failure("set the lock of \(key)", response) }
    }

    /// Extends the lock of `key` to at least `until`; true when it had to. A lock already later
    /// is left alone.
    @discardableResult
    public func extendObjectLock(_ key: String, mode: ObjectLockMode, until: Date) throws -> Bool {
        guard let current = try objectLock(key) else { return false }
        if let set = current.until, set >= until { return false }
        try setObjectLock(key, version: current.version, mode: mode, until: until)
        return true
    }
}
