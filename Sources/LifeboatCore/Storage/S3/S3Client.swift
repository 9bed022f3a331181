import Foundation

/// Signed S3 requests over `HTTPClient` (http or https, keep-alive), `RetryPolicy.standard` for
/// every call (they are all repeatable: a PUT of the same bytes, a GET, a DELETE), and S3's XML
/// errors turned into clear messages. Virtual-hosted addressing sends `BUCKET.HOST` as Host and
/// as the TLS server name, over a connection to the endpoint's host.
final class S3Client: Sendable {
    let http: HTTPClient
    let bucket: String
    let pathStyle: Bool
    let signer: SigV4
    let endpoint: String
    let retry: RetryPolicy

    init(
        endpoint: String, bucket: String, pathStyle: Bool, signer: SigV4, tls: TLSSettings?, timeout: TimeInterval = 60,
        retry: RetryPolicy = .standard
    ) throws {
        let probe = try HTTPClient(url: endpoint, timeout: timeout, tls: tls)
        http = pathStyle ? probe : try HTTPClient(url: endpoint, timeout: timeout, tls: tls, serverName: "\(bucket).\(probe.host)")
        self.bucket = bucket
        self.pathStyle = pathStyle
        self.signer = signer
        self.endpoint = endpoint
        self.retry = retry
    }

    static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    struct Response {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        /// 404 for the key itself (a missing bucket is a 404 too, but an error).
        var isMissingObject: Bool { status == 404 && XMLText.first("Code", in: text) != "NoSuchBucket" }
    }

    /// The request path and Host header for `key` (nil: the bucket itself).
    private func address(_ key: String?) -> (path: String, host: String) {
        let hostPort = http.hostAndPort
        let objectPath = key.map { "/" + SigV4.encodePath($0) } ?? "/"
        if pathStyle {
            return ("/\(bucket)" + (key == nil ? "" : objectPath), hostPort)
        }
        return (objectPath, "\(bucket).\(hostPort)")
    }

    /// Sends one request with a body held in memory, retrying what may be retried; a non-2xx
    /// answer is returned (callers decide what 404 or 412 mean), a connection that keeps failing
    /// is thrown.
    func send(
        _ method: String, _ key: String?, query: [(String, String)] = [], headers extra: [String: String] = [:],
        body: [UInt8] = []
    ) throws -> Response {
        let payloadHash = body.isEmpty ? Self.emptyPayloadHash : SHA256Hasher.hex(of: body)
        return try retry.run { _ in
            var collected: [UInt8] = []
            let head = try exchange(
                method, key, query: query, headers: extra, payloadHash: payloadHash,
                contentLength: Int64(body.count),
                produce: { emit in if !body.isEmpty { try body.withUnsafeBytes { try emit($0) } } },
                consume: { collected += $0 })
            let response = Response(status: head.status, headers: head.headers, body: collected)
            return RetryPolicy.isTransient(status: response.status) ? .transient(response) : .done(response)
        }
    }

    /// One signed exchange with a streamed body and a streamed answer.
    func exchange(
        _ method: String, _ key: String?, query: [(String, String)], headers extra: [String: String],
        payloadHash: String, contentLength: Int64,
        produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void,
        onHead: (Int, [String: String]) -> Void = { _, _ in },
        consume: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> (status: Int, headers: [String: String]) {
        let (path, host) = address(key)
        let now = Date()
        var headers = signer.headers(host: host, payloadHash: payloadHash, date: now)
        for (name, value) in extra { headers[name.lowercased()] = value }
        if contentLength > 0 || ["PUT", "POST"].contains(method) { headers["content-length"] = String(contentLength) }
        let signed = signer.sign(method: method, path: path, query: query, headers: headers, payloadHash: payloadHash, date: now)
        headers["authorization"] = signed.authorization
        headers.removeValue(forKey: "host")
        headers.removeValue(forKey: "content-length")  // HTTPClient writes it
        let queryText = query.map { "\(SigV4.encode($0.0))=\(SigV4.encode($0.1))" }.joined(separator: "&")
        let label = "\(endpoint) (\(method) \(bucket)/\(key ?? ""))"
        return try http.exchange(
            method, path + (queryText.isEmpty ? "" : "?" + queryText), contentType: nil,
            contentLength: contentLength, extraHeaders: headers, hostHeader: host, label: label,
            produce: produce, onHead: onHead, consume: consume)
    }

    /// The error for an answer the caller did not expect, naming S3's error code and message.
    func failure(_ what: String, _ response: Response) -> LifeboatError {
        let code = XMLText.first("Code", in: response.text) ?? ""
        let message = XMLText.first("Message", in: response.text) ?? ""
        let detail = [code, message].filter { !$0.isEmpty }.joined(separator: ": ")
        let status: LifeboatError.Code = [401, 403].contains(response.status) || code == "NoSuchBucket" ? .invalidInput : .operationFailed
        let fix: String? =
            switch code {
            case "SignatureDoesNotMatch", "InvalidAccessKeyId":
                "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the policy's credentials_file) and AWS_REGION"
            case "NoSuchBucket": "create the bucket, or run `lifeboat init --repo s3://\(bucket)/…`, which creates it"
            default: nil
            }
        return LifeboatError(status, "\(endpoint): \(what) answered \(response.status)\(detail.isEmpty ? "" : " (\(detail))")", fix: fix)
    }
}

/// Just enough XML for S3's answers: the text of elements by name, entities decoded.
enum XMLText {
    static func all(_ tag: String, in text: String) -> [String] {
        var found: [String] = []
        var rest = text[...]
        while let open = rest.range(of: "<\(tag)>") {
            guard let close = rest.range(of: "</\(tag)>", range: open.upperBound..<rest.endIndex) else { break }
            found.append(decode(String(rest[open.upperBound..<close.lowerBound])))
            rest = rest[close.upperBound...]
        }
        return found
    }

    static func first(_ tag: String, in text: String) -> String? { all(tag, in: text).first }

    static func decode(_ text: String) -> String {
        guard text.contains("&") else { return text }
        return text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&#34;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
