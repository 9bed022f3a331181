import Foundation

/// A repository under `s3://BUCKET/PREFIX` on any S3-compatible engine (tested on Ceph RGW).
/// - Small objects (manifests, config, WAL of one part) are one PUT; `create` adds
///   `If-None-Match: *`, so a manifest is never overwritten.
/// - Stored files stream through `S3ObjectWriter`: parts of `partSize`, a few in flight, completed
///   at `commit` (until then nothing is listed), aborted on failure.
/// - Reads stream (`S3ObjectReader`); listings page through ListObjectsV2.
/// - Unfinished multipart uploads are `incompleteWrites`, which `prune` aborts.
public struct S3Storage: RepositoryStorage {
    let client: S3Client
    let bucket: String
    /// The key prefix, empty or ending in `/`.
    let prefix: String
    let partSize: Int
    public let uploadsInFlight: Int
    public let location: String
    public var isLocal: Bool { false }
    public let usesAdminCredentials: Bool
    /// The Object Lock date of what is written now (a backup sets its snapshot's).
    public let retention = ObjectRetention()

    public init(url: String, settings: StorageSettings, environment: [String: String]) throws {
        let rest = url.dropFirst("s3://".count)
        let bucket = String(rest.prefix { $0 != "/" })
        guard bucket.count >= 3, bucket.count <= 63,
            bucket.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" || $0 == "." })
        else {
            throw LifeboatError(
                .invalidInput, "\(url): \"\(bucket)\" is not an S3 bucket name",
                fix: "bucket names are 3–63 lowercase letters, digits, dots and hyphens: s3://my-backups/prod")
        }
        let path = rest.dropFirst(bucket.count).split(separator: "/").joined(separator: "/")
        self.bucket = bucket
        prefix = path.isEmpty ? "" : path + "/"
        location = "s3://\(bucket)" + (path.isEmpty ? "" : "/\(path)")
        let region = settings.region ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
        let custom = settings.endpoint ?? environment["AWS_ENDPOINT_URL_S3"] ?? environment["AWS_ENDPOINT_URL"]
        let endpoint = custom ?? "https://s3.\(region).amazonaws.com"
        var settings = settings
        usesAdminCredentials = settings.adminCredentialsFile != nil
        if let admin = settings.adminCredentialsFile { settings.credentialsFile = admin }
        let credentials = try Self.credentials(settings: settings, environment: environment)
        // Path-style for custom endpoints (RGW, MinIO), and for bucket names with dots, whose
        // virtual host (a.b.s3.amazonaws.com) no wildcard certificate covers.
        client = try S3Client(
            endpoint: endpoint, bucket: bucket, pathStyle: settings.pathStyle ?? (custom != nil || bucket.contains(".")),
            signer: SigV4(credentials: credentials, region: region, service: "s3"),
            tls: endpoint.lowercased().hasPrefix("https://") ? Self.tls(settings: settings, environment: environment) : settings.tls)
        partSize = settings.partSize ?? 8 << 20
        uploadsInFlight = settings.uploadsInFlight ?? 2
    }

    /// The policy's TLS keys, else `AWS_CA_BUNDLE` (the AWS tools' variable; what commands that
    /// take no policy, such as `init`, go by), else the system trust store.
    static func tls(settings: StorageSettings, environment: [String: String]) -> TLSSettings {
        if let tls = settings.tls { return tls }
        if let bundle = environment["AWS_CA_BUNDLE"], !bundle.isEmpty { return TLSSettings(caFile: bundle) }
        return TLSSettings()
    }

    /// From the policy's `credentials_file` (AWS shared-credentials format, profile
    /// `$AWS_PROFILE` or `default`), else `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` /
    /// `AWS_SESSION_TOKEN`.
    static func credentials(settings: StorageSettings, environment: [String: String]) throws -> SigV4.Credentials {
        if let file = settings.credentialsFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw LifeboatError(.invalidInput, "cannot read the S3 credentials file \(file)")
            }
            let profile = environment["AWS_PROFILE"] ?? "default"
            var section = ""
            var values: [String: String] = [:]
            for raw in text.split(whereSeparator: \.isNewline) {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.hasPrefix("[") && line.hasSuffix("]") {
                    section = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                } else if section == profile, let eq = line.firstIndex(of: "=") {
                    values[line[..<eq].trimmingCharacters(in: .whitespaces)] = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
                }
            }
            guard let access = values["aws_access_key_id"], let secret = values["aws_secret_access_key"] else {
                throw LifeboatError(.invalidInput, "\(file) has no aws_access_key_id / aws_secret_access_key in profile [\(profile)]")
            }
            return .init(accessKey: access, secretKey: secret, sessionToken: values["aws_session_token"])
        }
        guard let access = environment["AWS_ACCESS_KEY_ID"], !access.isEmpty,
            let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty
        else {
            throw LifeboatError(
                .invalidInput, "no S3 credentials",
                fix: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or `s3: {credentials_file: …}` in the policy")
        }
        return .init(accessKey: access, secretKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
    }

    func objectKey(_ key: String) -> String { prefix + key }

    /// Connections opened to the endpoint so far (keep-alive: a multipart upload needs
    /// `uploadsInFlight` + 1, not one per part).
    public var connectionsOpened: Int { client.http.pool.opened }

    public func get(_ key: String) throws -> [UInt8]? {
        let response = try client.send("GET", objectKey(key))
        if response.isMissingObject { return nil }
        guard response.status == 200 else { throw client.failure("GET \(key)", response) }
        return response.body
    }

    /// Sent with every new object (a PUT, the start of a multipart upload). A bucket owner
    /// cannot read objects another user wrote into its bucket unless they grant it: with this,
    /// the admin of an append-only repository (the bucket's owner) can read, verify and prune
    /// what its backup hosts wrote (docs/append-only.md). Harmless where the writer owns the
    /// bucket, and the one canned ACL that buckets without ACLs (AWS's default) accept.
    static let newObjectHeaders = ["x-amz-acl": "bucket-owner-full-control"]

    public func put(_ key: String, _ bytes: [UInt8]) throws {
        let response = try client.send("PUT", objectKey(key), headers: headers(forNew: key, body: bytes), body: bytes)
        guard (200..<300).contains(response.status) else { throw client.failure("PUT \(key)", response) }
    }

    public func create(_ key: String, _ bytes: [UInt8]) throws -> Bool {
        CrashPoint.reach("atomic-write-before-rename")
        let response = try client.send(
            "PUT", objectKey(key), headers: headers(forNew: key, body: bytes).merging(["If-None-Match": "*"]) { a, _ in a }, body: bytes)
        if response.status == 412 {
            // Exists: ours, if a retried PUT had in fact landed, or someone else's.
            return try get(key) == bytes
        }
        guard (200..<300).contains(response.status) else { throw client.failure("PUT \(key)", response) }
        return true
    }

    public func delete(_ key: String) throws {
        let response = try client.send("DELETE", objectKey(key))
        guard (200..<300).contains(response.status) || response.status == 404 else { throw client.failure("DELETE \(key)", response) }
    }

    /// Multi-object DELETE (`POST /?delete`, quiet mode), 1,000 keys per request: a prune of
    /// thousands of packs is a handful of requests. Keys S3 could not delete are an error naming
    /// the first of them.
    public func delete(_ keys: [String]) throws {
        var start = 0
        while start < keys.count {
            let batch = keys[start..<min(keys.count, start + 1000)]
            start += batch.count
            if batch.count == 1 {
                try delete(batch[batch.startIndex])
                continue
            }
            let response = try multiDelete(batch)
            guard response.status == 200 else { throw client.failure("delete \(batch.count) objects", response) }
            let errors = XMLText.all("Error", in: response.text).filter { XMLText.first("Code", in: $0) != "NoSuchKey" }
            if let first = errors.first {
                let key = XMLText.first("Key", in: first) ?? "?"
                let code = XMLText.first("Code", in: first) ?? "?"
                throw LifeboatError(
                    .operationFailed,
                    "\(client.endpoint): \(errors.count) of \(batch.count) objects were not deleted; the first, \(key): \(code) \(XMLText.first("Message", in: first) ?? "")"
                )
            }
        }
    }

    /// One multi-object DELETE request (quiet mode: the answer lists only the keys that failed).
    func multiDelete(_ batch: ArraySlice<String>) throws -> S3Client.Response {
        try multiDelete(batch.map { ($0, nil) })
    }

    /// The same for (key, version id) pairs: a version id deletes that version for good.
    func multiDelete(_ batch: [(key: String, version: String?)]) throws -> S3Client.Response {
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
        for (key, version) in batch {
            xml += "<Object><Key>\(XMLText.escape(objectKey(key)))</Key>"
            if let version { xml += "<VersionId>\(XMLText.escape(version))</VersionId>" }
            xml += "</Object>"
        }
        xml += "</Delete>"
        let body = Array(xml.utf8)
        return try client.send(
            "POST", nil, query: [("delete", "")],
            headers: ["Content-MD5": ContentMD5.header(for: body), "Content-Type": "application/xml"], body: body)
    }

    public func list(_ keyPrefix: String) throws -> [StoredObject] {
        var objects: [StoredObject] = []
        try pages(keyPrefix, delimiter: nil) { text in
            for block in XMLText.all("Contents", in: text) {
                guard let key = XMLText.first("Key", in: block), key.hasPrefix(prefix) else { continue }
                objects.append(
                    StoredObject(
                        key: String(key.dropFirst(prefix.count)),
                        size: Int64(XMLText.first("Size", in: block) ?? "") ?? 0,
                        modified: XMLText.first("LastModified", in: block).flatMap(Timestamp.parse)))
            }
        }
        return objects.sorted { $0.key < $1.key }
    }

    public func children(_ keyPrefix: String) throws -> [String] {
        var names: [String] = []
        try pages(keyPrefix, delimiter: "/") { text in
            for block in XMLText.all("CommonPrefixes", in: text) {
                guard let full = XMLText.first("Prefix", in: block) else { continue }
                names.append(String(full.dropFirst(prefix.count + keyPrefix.count).dropLast()))
            }
        }
        return names.sorted()
    }

    private func pages(_ keyPrefix: String, delimiter: String?, _ body: (String) -> Void) throws {
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", objectKey(keyPrefix))]
            if let delimiter { query.append(("delimiter", delimiter)) }
            if let token { query.append(("continuation-token", token)) }
            let response = try client.send("GET", nil, query: query)
            guard response.status == 200 else { throw client.failure("list \(keyPrefix)", response) }
            body(response.text)
            token = XMLText.first("IsTruncated", in: response.text) == "true" ? XMLText.first("NextContinuationToken", in: response.text) : nil
        } while token != nil
    }

    public func size(_ key: String) throws -> Int64? {
        let response = try client.send("HEAD", objectKey(key))
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw client.failure("HEAD \(key)", response) }
        return Int64(response.headers["content-length"] ?? "")
    }

    public func writer(_ key: String) throws -> any ObjectWriter {
        S3ObjectWriter(storage: self, key: key)
    }

    public func reader(_ key: String) throws -> (any ObjectReader)? {
        try S3ObjectReader.open(client: client, key: objectKey(key), label: "\(location)/\(key)")
    }

    public func deletePrefix(_ keyPrefix: String) throws {
        try delete(try list(keyPrefix).map(\.key))
    }

    public func incompleteWrites() throws -> [IncompleteWrite] {
        let response = try client.send("GET", nil, query: [("uploads", ""), ("prefix", prefix)])
        guard response.status == 200 else { throw client.failure("list multipart uploads", response) }
        return XMLText.all("Upload", in: response.text).compactMap { block in
            guard let key = XMLText.first("Key", in: block), key.hasPrefix(prefix), let id = XMLText.first("UploadId", in: block) else { return nil }
            let relative = String(key.dropFirst(prefix.count))
            return IncompleteWrite(
                name: "upload:\(relative)#\(id)", key: relative, bytes: 0,
                started: XMLText.first("Initiated", in: block).flatMap(Timestamp.parse))
        }.sorted { $0.name < $1.name }
    }

    public func removeIncompleteWrite(_ name: String) throws {
        guard name.hasPrefix("upload:"), let hash = name.lastIndex(of: "#") else { return }
        let key = String(name[name.index(name.startIndex, offsetBy: 7)..<hash])
        try abortUpload(key: key, id: String(name[name.index(after: hash)...]))
    }

    func abortUpload(key: String, id: String) throws {
        let response = try client.send("DELETE", objectKey(key), query: [("uploadId", id)])
        guard (200..<300).contains(response.status) || response.status == 404 else { throw client.failure("abort upload of \(key)", response) }
    }

    public func acquireLock(_ holder: RepositoryLock.Holder, mode: RepositoryLock.Mode) throws -> any StorageLock {
        try S3Lock(storage: self, holder: holder, mode: mode)
    }

    public func lockHolders() -> [RepositoryLock.Holder] {
        ((try? S3Lock.liveHolders(self)) ?? []).map(\.holder)
    }

    /// Creates the bucket if it does not exist (`init`).
    public func ensureBucket() throws {
        let probe = try client.send("HEAD", nil)
        if probe.status == 200 { return }
        let response = try client.send("PUT", nil)
        guard (200..<300).contains(response.status) || XMLText.first("Code", in: response.text) == "BucketAlreadyOwnedByYou" else {
            throw client.failure("create bucket \(bucket)", response)
        }
    }
}
