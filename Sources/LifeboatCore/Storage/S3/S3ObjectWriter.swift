import Foundation

/// Streams one object to S3 with bounded memory. Bytes fill a part buffer of `partSize`; an
/// object that ends within the first part is a single PUT at `commit`. Otherwise a multipart
/// upload starts with the first full part, and parts go up on worker threads, at most
/// `uploadsInFlight` at once (the caller blocks when they fall behind: memory stays under
/// (uploadsInFlight + 1) × partSize). Each part PUT is retried with backoff (`S3Client.send`).
/// `commit` completes the upload, the moment the object appears; `abort` (or a failure) aborts it.
final class S3ObjectWriter: ObjectWriter, @unchecked Sendable {
    private let storage: S3Storage
    private let key: String
    private let stored = StoredBytesDigest()
    private var current: [UInt8] = []
    private var uploadId: String?
    private var nextPart = 1
    private let condition = NSCondition()
    // Under `condition`.
    private var inFlight = 0
    private var etags: [Int: String] = [:]
    private var failure: (any Error)?
    private var finished = false

    init(storage: S3Storage, key: String) {
        self.storage = storage
        self.key = key
        current.reserveCapacity(storage.partSize)
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try Cancellation.process.check()
        stored.update(bytes)
        var rest = bytes[...]
        while !rest.isEmpty {
            let take = min(rest.count, storage.partSize - current.count)
            current.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest.prefix(take)))
            rest = rest.dropFirst(take)
            if current.count == storage.partSize { try sendPart() }
        }
    }

    private func sendPart() throws {
        if uploadId == nil { uploadId = try start() }
        condition.lock()
        while inFlight >= storage.uploadsInFlight && failure == nil { condition.wait() }
        if let failure {
            condition.unlock()
            throw failure
        }
        inFlight += 1
        condition.unlock()
        let part = current
        let number = nextPart
        nextPart += 1
        current = []
        current.reserveCapacity(storage.partSize)
        let thread = Thread { [self] in
            let result = Result { try upload(part: part, number: number) }
            condition.lock()
            inFlight -= 1
            switch result {
            case .success(let etag): etags[number] = etag
            case .failure(let error): if failure == nil { failure = error }
            }
            condition.broadcast()
            condition.unlock()
        }
        thread.name = "lifeboat-s3-part"
        thread.start()
    }

    private func start() throws -> String {
        let response = try storage.client.send(
            "POST", storage.objectKey(key), query: [("uploads", "")], headers: storage.headers(forNew: key, body: nil))
        guard response.status == 200, let id = XMLText.first("UploadId", in: response.text) else {
            throw storage.client.failure("start multipart upload of \(key)", response)
        }
        return id
    }

    private func upload(part: [UInt8], number: Int) throws -> String {
        CrashPoint.reach("s3-part-upload")
        let response = try storage.client.send(
            "PUT", storage.objectKey(key), query: [("partNumber", String(number)), ("uploadId", uploadId!)], body: part)
        guard response.status == 200, let etag = response.headers["etag"] else {
            throw storage.client.failure("upload part \(number) of \(key)", response)
        }
        return etag
    }

    private func waitForParts() throws {
        condition.lock()
        defer { condition.unlock() }
        while inFlight > 0 { condition.wait() }
        if let failure { throw failure }
    }

    func commit() throws -> StoredDigest {
        do {
            guard let uploadId else {
                try storage.put(key, current)
                finished = true
                return stored.finish()
            }
            if !current.isEmpty { try sendPart() }
            try waitForParts()
            CrashPoint.reach("s3-before-complete")
            let parts = etags.sorted { $0.key < $1.key }
                .map { "<Part><PartNumber>\($0.key)</PartNumber><ETag>\(XMLText.escape($0.value))</ETag></Part>" }.joined()
            let body = Array("<CompleteMultipartUpload>\(parts)</CompleteMultipartUpload>".utf8)
            let response = try storage.client.send("POST", storage.objectKey(key), query: [("uploadId", uploadId)], body: body)
            // S3 may answer 200 with an error document when completion fails late.
            guard response.status == 200, !response.text.contains("<Error>") else {
                throw storage.client.failure("complete multipart upload of \(key)", response)
            }
            // Not every engine locks a multipart upload by the headers of its start (RGW 16
            // does not): the completed version gets its lock here, before anything refers to it.
            if let (mode, until) = storage.retention.value, ObjectRetention.applies(to: key) {
                try storage.setObjectLock(key, version: response.headers["x-amz-version-id"], mode: mode, until: until)
            }
            finished = true
            return stored.finish()
        } catch {
            abort()
            throw error
        }
    }

    func abort() {
        guard !finished else { return }
        finished = true
        condition.lock()
        while inFlight > 0 { condition.wait() }
        condition.unlock()
        if let uploadId { try? storage.abortUpload(key: key, id: uploadId) }
    }

    deinit { abort() }
}
