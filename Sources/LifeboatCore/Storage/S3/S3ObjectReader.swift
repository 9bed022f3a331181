import Foundation

/// Streams one object from S3: a GET on its own thread pushes the body into a small queue (at
/// most `depth` chunks, so memory stays bounded while the consumer is slower), `read` takes
/// from it. The SHA-256 covers every byte handed out.
final class S3ObjectReader: ObjectReader, @unchecked Sendable {
    private let condition = NSCondition()
    private let depth = 8
    private var queue: [[UInt8]] = []
    private var offset = 0
    private var status: Int?
    private var ended = false
    private var cancelled = false
    private var failure: (any Error)?
    private var errorBody: [UInt8] = []
    private let read = StoredBytesDigest()

    /// Starts the GET; nil when the object does not exist.
    static func open(client: S3Client, key: String, label: String) throws -> S3ObjectReader? {
        let reader = S3ObjectReader()
        let thread = Thread { reader.run(client: client, key: key) }
        thread.name = "lifeboat-s3-get"
        thread.start()
        reader.condition.lock()
        while reader.status == nil && reader.failure == nil { reader.condition.wait() }
        let status = reader.status
        let failure = reader.failure
        reader.condition.unlock()
        if let failure { throw failure }
        if status == 200 { return reader }
        reader.condition.lock()
        while !reader.ended { reader.condition.wait() }
        let response = S3Client.Response(status: status ?? 0, headers: [:], body: reader.errorBody)
        reader.condition.unlock()
        if response.isMissingObject { return nil }
        throw client.failure("GET \(label)", response)
    }

    /// Retries transient failures (`client.retry`) until an answer's head arrives (it is then
    /// handed to `open`). A transient failure mid-body resumes where the body broke off, with
    /// `Range: bytes=N-` and `If-Match` on the first answer's ETag, so a restore does not start
    /// again from zero and never splices two versions of an object.
    private func run(client: S3Client, key: String) {
        var delivered: Int64 = 0
        var etag: String?
        var published = false
        do {
            try client.retry.run { attempt -> RetryPolicy.Outcome<Void> in
                let resuming = published
                var headers: [String: String] = [:]
                if resuming {
                    headers["Range"] = "bytes=\(delivered)-"
                    if let etag { headers["If-Match"] = etag }
                }
                var ok = false
                var again = false
                var refused: Int?
                _ = try client.exchange(
                    "GET", key, query: [], headers: headers, payloadHash: S3Client.emptyPayloadHash, contentLength: 0,
                    produce: { _ in },
                    onHead: { status, answer in
                        let lastTry = attempt >= client.retry.attempts
                        if resuming {
                            ok = status == 206
                            if !ok && RetryPolicy.isTransient(status: status) && !lastTry { again = true } else if !ok { refused = status }
                            return
                        }
                        ok = status == 200
                        if !ok && RetryPolicy.isTransient(status: status) && !lastTry {
                            again = true
                            return
                        }
                        etag = answer["etag"]
                        published = true
                        self.condition.lock()
                        self.status = status
                        self.condition.broadcast()
                        self.condition.unlock()
                    },
                    consume: { bytes in
                        if again || refused != nil { return }
                        try self.push(bytes, ok: ok)
                        if ok { delivered += Int64(bytes.count) }
                    })
                if again { return .transient(()) }
                if let refused {
                    throw LifeboatError(
                        .operationFailed,
                        "\(client.endpoint): resuming the download of \(key) at byte \(delivered) answered \(refused)\(refused == 412 ? " (the object changed meanwhile)" : "")"
                    )
                }
                return .done(())
            }
        } catch {
            condition.lock()
            if failure == nil && !cancelled { failure = error }
            condition.unlock()
        }
        condition.lock()
        ended = true
        condition.broadcast()
        condition.unlock()
    }

    private func push(_ bytes: UnsafeRawBufferPointer, ok: Bool) throws {
        condition.lock()
        defer { condition.unlock() }
        guard ok else {
            if errorBody.count < 8192 { errorBody += bytes }
            return
        }
        while queue.count >= depth && !cancelled { condition.wait() }
        if cancelled { throw LifeboatError(.operationFailed, "cancelled") }
        queue.append(Array(bytes))
        condition.broadcast()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !ended && failure == nil { condition.wait() }
        if let failure { throw failure }
        guard !queue.isEmpty else {
            _ = read.finish()
            return 0
        }
        let chunk = queue[0]
        let n = min(buffer.count, chunk.count - offset)
        chunk.withUnsafeBytes { source in
            let slice = UnsafeRawBufferPointer(rebasing: source[offset..<(offset + n)])
            buffer.baseAddress!.copyMemory(from: slice.baseAddress!, byteCount: n)
            read.update(slice)
        }
        offset += n
        if offset == chunk.count {
            queue.removeFirst()
            offset = 0
            condition.broadcast()
        }
        return n
    }

    var digest: StoredDigest { read.current }

    func close() {
        condition.lock()
        cancelled = true
        queue.removeAll()
        condition.broadcast()
        condition.unlock()
    }
}
