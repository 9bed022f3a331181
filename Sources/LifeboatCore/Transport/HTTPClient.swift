import Foundation

/// A small HTTP/1.1 client for S3 and the vector stores' APIs, over plain TCP or TLS: keep-alive
/// connections from a small pool, timeouts, the one `RetryPolicy` for requests that may be
/// repeated, and streaming bodies in both directions so a snapshot is never held in memory.
public final class HTTPClient: Sendable {
    public let host: String
    public let port: Int
    public let basePath: String
    public let headers: [String: String]
    public let timeout: TimeInterval
    public let retry: RetryPolicy
    public let isTLS: Bool
    /// `scheme://host:port/base` for error messages (never a header value).
    public let description: String
    let pool: ConnectionPool

    /// `url`: `http[s]://HOST[:PORT][/BASE]`. `headers` go with every request (an API key).
    /// `tls` applies to `https` URLs (default: the system trust store); giving TLS settings for
    /// an `http` URL is an error, never a silent downgrade. `serverName` overrides the name the
    /// certificate must carry (S3 virtual-hosted buckets).
    public init(
        url: String, headers: [String: String] = [:], timeout: TimeInterval = 60, attempts: Int = 4,
        tls: TLSSettings? = nil, serverName: String? = nil
    ) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), let host = components.host,
            !host.isEmpty
        else {
            throw LifeboatError(.invalidInput, "\"\(url)\" is not a URL", fix: "write e.g. http://127.0.0.1:8000 or https://vectors.example.com")
        }
        guard scheme == "http" || scheme == "https" else {
            throw LifeboatError(.invalidInput, "\(url): the scheme must be http:// or https://")
        }
        isTLS = scheme == "https"
        if !isTLS, let tls, tls.isCustomized {
            throw LifeboatError(
                .invalidInput, "\(url): TLS settings (ca_file, cert_file, key_file, insecure_skip_verify) are given for a plain http:// URL",
                fix: "write https:// to use them, or drop them")
        }
        try tls?.validate(url)
        self.host = host
        port = components.port ?? (isTLS ? 443 : 80)
        basePath = components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path
        self.headers = headers
        self.timeout = timeout
        retry = RetryPolicy(attempts: attempts)
        description = "\(scheme)://\(host):\(port)\(basePath)"
        var endpoint = Endpoint.tcp(host, port, tls: isTLS ? (tls ?? TLSSettings()) : nil)
        endpoint.serverName = serverName
        pool = ConnectionPool(endpoint: endpoint, timeout: timeout, label: description)
    }

    /// `host:port`, or `host` alone on the scheme's default port (for a Host header).
    public var hostAndPort: String { port == (isTLS ? 443 : 80) ? host : "\(host):\(port)" }

    /// A response whose body was read into memory.
    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
        /// The body as JSON.
        public func json() throws -> Any {
            try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
        }
    }

    /// Sends a request with an optional JSON body and reads the whole response (for API calls,
    /// not snapshots). Retries connection failures and 5xx answers when `retry` (default: for
    /// GET, HEAD, PUT, DELETE). A non-2xx answer is returned, not thrown.
    public func request(_ method: String, _ path: String, json body: Any? = nil, retry mayRepeat: Bool? = nil) throws -> Response {
        let payload = try body.map { Array(try JSONSerialization.data(withJSONObject: $0)) } ?? []
        let repeatable = mayRepeat ?? ["GET", "HEAD", "PUT", "DELETE"].contains(method)
        return try (repeatable ? retry : .once).run { _ in
            var collected: [UInt8] = []
            let head = try exchange(
                method, path, contentType: body == nil ? nil : "application/json",
                contentLength: Int64(payload.count), extraHeaders: [:],
                produce: { emit in try payload.withUnsafeBytes { try emit($0) } },
                consume: { collected += $0 })
            let response = Response(status: head.status, headers: head.headers, body: collected)
            return RetryPolicy.isTransient(status: response.status) ? .transient(response) : .done(response)
        }
    }

    /// Like `request`, but a non-2xx answer throws `.operationFailed` naming the call and the
    /// server's message; returns the parsed JSON.
    @discardableResult
    public func json(_ method: String, _ path: String, body: Any? = nil, retry: Bool? = nil) throws -> Any {
        let response = try request(method, path, json: body, retry: retry)
        guard (200..<300).contains(response.status) else { throw failure(method, path, response) }
        return response.body.isEmpty ? [String: Any]() : try response.json()
    }

    /// The error for a non-2xx answer: status and the start of the server's message.
    public func failure(_ method: String, _ path: String, _ response: Response) -> LifeboatError {
        let message = response.text.trimmingCharacters(in: .whitespacesAndNewlines).prefix(300)
        let code: LifeboatError.Code = response.status == 401 || response.status == 403 ? .invalidInput : .operationFailed
        return LifeboatError(
            code, "\(description): \(method) \(path) answered \(response.status)\(message.isEmpty ? "" : ": \(message)")",
            fix: code == .invalidInput ? "check the API key (api_key_file / api_key_env)" : nil)
    }

    /// Streams a response body to `consume` (a snapshot download); returns status and headers.
    /// A non-2xx answer's body is collected instead and thrown.
    @discardableResult
    public func download(_ path: String, consume: (UnsafeRawBufferPointer) throws -> Void) throws -> (status: Int, headers: [String: String]) {
        var errorBody: [UInt8] = []
        var ok = false
        let head = try exchange(
            "GET", path, contentType: nil, contentLength: 0, extraHeaders: [:], produce: { _ in },
            onHead: { status, _ in ok = (200..<300).contains(status) },
            consume: { bytes in if ok { try consume(bytes) } else if errorBody.count < 4096 { errorBody += bytes } })
        guard ok else { throw failure("GET", path, Response(status: head.status, headers: head.headers, body: errorBody)) }
        return head
    }

    /// Sends a body of `contentLength` bytes that `produce` pushes (a snapshot upload).
    public func upload(
        _ method: String, _ path: String, contentType: String, contentLength: Int64,
        produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws -> Response {
        var collected: [UInt8] = []
        let head = try exchange(
            method, path, contentType: contentType, contentLength: contentLength, extraHeaders: [:],
            produce: produce, consume: { collected += $0 })
        return Response(status: head.status, headers: head.headers, body: collected)
    }

    // MARK: - The exchange

    /// One request on a pooled keep-alive connection (a new one when none is idle). `hostHeader`
    /// overrides `Host` (S3 virtual-hosted style); `label` replaces the path in errors (a path may
    /// carry query parameters). The connection goes back to the pool only after a response read
    /// whole that did not ask to close it.
    func exchange(
        _ method: String, _ path: String, contentType: String?, contentLength: Int64,
        extraHeaders: [String: String], hostHeader: String? = nil, label given: String? = nil,
        produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void,
        onHead: (Int, [String: String]) -> Void = { _, _ in },
        consume: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> (status: Int, headers: [String: String]) {
        let label = given ?? "\(description) (\(method) \(path))"
        var head =
            "\(method) \(basePath)\(path) HTTP/1.1\r\nHost: \(hostHeader ?? hostAndPort)\r\nUser-Agent: lifeboat/\(LifeboatVersion.current)\r\nAccept: */*\r\n"
        for (k, v) in headers.merging(extraHeaders, uniquingKeysWith: { $1 }) { head += "\(k): \(v)\r\n" }
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        if contentLength > 0 || ["POST", "PUT", "PATCH"].contains(method) { head += "Content-Length: \(contentLength)\r\n" }
        head += "\r\n"
        let headBytes = Array(head.utf8)

        var connection: any Connection
        if let idle = pool.reuse() {
            connection = idle
            do {
                try headBytes.withUnsafeBytes { try connection.send($0) }
            } catch  where RetryPolicy.isTransient(error) {
                // The server closed the idle connection as we reused it: once more on a new one.
                connection.close()
                connection = try pool.open()
                try headBytes.withUnsafeBytes { try connection.send($0) }
            }
        } else {
            connection = try pool.open()
            try headBytes.withUnsafeBytes { try connection.send($0) }
        }
        var reusable = false
        defer { if reusable { pool.giveBack(connection) } else { connection.close() } }
        var sent: Int64 = 0
        try produce { bytes in
            guard sent + Int64(bytes.count) <= contentLength else {
                throw LifeboatError(.operationFailed, "\(label): more body than the announced \(contentLength) bytes")
            }
            try connection.send(bytes)
            sent += Int64(bytes.count)
        }
        guard sent == contentLength else {
            throw LifeboatError(.operationFailed, "\(label): sent \(sent) of the announced \(contentLength) bytes")
        }
        let reader = ResponseReader(connection: connection, label: label)
        let (status, responseHeaders, keepAlive) = try reader.readHead()
        onHead(status, responseHeaders)
        let framed = try reader.readBody(headers: responseHeaders, method: method, status: status, consume)
        reusable = keepAlive && framed
        return (status, responseHeaders)
    }
}

/// Reads one HTTP/1.1 response from a socket: status line, headers, then a body framed by
/// Content-Length, chunked encoding, or the end of the connection.
private final class ResponseReader {
    let connection: any Connection
    let label: String
    private var buffer = [UInt8](repeating: 0, count: 256 * 1024)
    private var start = 0
    private var end = 0

    init(connection: any Connection, label: String) {
        self.connection = connection
        self.label = label
    }

    private func fill() throws -> Bool {
        if start == end {
            start = 0
            end = 0
        }
        if end == buffer.count {
            if start > 0 {
                buffer.replaceSubrange(0..<(end - start), with: buffer[start..<end])
                end -= start
                start = 0
            } else {
                buffer += [UInt8](repeating: 0, count: buffer.count)
            }
        }
        let n = try buffer.withUnsafeMutableBytes { raw in
            try connection.receive(into: UnsafeMutableRawBufferPointer(rebasing: raw[end...]))
        }
        end += n
        return n > 0
    }

    private func line() throws -> String {
        while true {
            if let i = buffer[start..<end].firstIndex(of: 0x0a) {
                var text = buffer[start..<i]
                if text.last == 0x0d { text = text.dropLast() }
                start = i + 1
                return String(decoding: text, as: UTF8.self)
            }
            guard end - start < 65536 else { throw LifeboatError(.operationFailed, "\(label): response header line too long") }
            guard try fill() else { throw LifeboatError.transient("\(label): the server closed the connection before answering") }
        }
    }

    /// Status, headers (names lowercased), and whether the connection may carry another request.
    func readHead() throws -> (Int, [String: String], Bool) {
        while true {
            let statusLine = try line()
            let parts = statusLine.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
                throw LifeboatError(.operationFailed, "\(label): not an HTTP response: \(statusLine.prefix(80))")
            }
            var headers: [String: String] = [:]
            while true {
                let header = try line()
                if header.isEmpty { break }
                guard let colon = header.firstIndex(of: ":") else { continue }
                headers[header[..<colon].lowercased()] = header[header.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            if status == 100 { continue }  // 100 Continue: the real answer follows
            let keepAlive = parts[0] == "HTTP/1.1" && headers["connection"]?.lowercased().contains("close") != true
            return (status, headers, keepAlive)
        }
    }

    /// Reads the body to `consume`; true when it was framed (its end known without the server
    /// closing the connection), so the connection can be reused.
    func readBody(
        headers: [String: String], method: String, status: Int,
        _ consume: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Bool {
        if method == "HEAD" || status == 204 || status == 304 { return true }
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            while true {
                let sizeLine = try line()
                guard let size = Int(sizeLine.split(separator: ";").first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? "", radix: 16)
                else {
                    throw LifeboatError(.operationFailed, "\(label): bad chunk size \"\(sizeLine.prefix(20))\"")
                }
                if size == 0 {
                    while try !line().isEmpty {}  // trailers
                    return true
                }
                try copy(Int64(size), consume)
                _ = try line()
            }
        }
        if let lengthText = headers["content-length"], let length = Int64(lengthText) {
            try copy(length, consume)
            return true
        }
        while true {  // until the server closes
            if start < end {
                try buffer.withUnsafeBytes { try consume(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
                start = end
            }
            guard try fill() else { return false }
        }
    }

    private func copy(_ length: Int64, _ consume: (UnsafeRawBufferPointer) throws -> Void) throws {
        var left = length
        while left > 0 {
            if start == end {
                guard try fill() else { throw LifeboatError.transient("\(label): the body ended \(left) bytes early") }
            }
            let n = Int(min(Int64(end - start), left))
            try buffer.withUnsafeBytes { try consume(UnsafeRawBufferPointer(rebasing: $0[start..<(start + n)])) }
            start += n
            left -= Int64(n)
        }
    }
}
