import Foundation

/// The end of the capture pipeline: takes the tar stream, compresses it (zstd or gzip), hashes the
/// stored bytes with SHA-256 and writes them to a file, all on its own thread so that this work
/// overlaps with reading and tarring on the caller's. At most `maxPending` chunks wait in its
/// queue; a full queue blocks the producer, so memory stays bounded whatever the input size.
final class StoredFileSink: @unchecked Sendable {
    private let fd: Int32
    private let path: String
    private let condition = NSCondition()
    private var pending: [[UInt8]] = []
    private var closed = false
    private var done = false
    private var failure: (any Error)?
    private let maxPending = 6
    // Touched only by the worker thread until `finish` has joined it.
    private let hasher = SHA256Hasher()
    private let compressor: (any StreamCompressor)?
    private var storedBytes: Int64 = 0

    /// Starts the storage thread writing to `fd` (which the caller owns and closes).
    init(fd: Int32, path: String, compression: Compression) throws {
        self.fd = fd
        self.path = path
        compressor = try compression.makeCompressor()
        let thread = Thread { [self] in self.work() }
        thread.name = "lifeboat-store"
        thread.start()
    }

    /// Queues a copy of `bytes`; blocks while the queue is full. Rethrows a storage failure.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        let chunk = [UInt8](bytes)
        condition.lock()
        defer { condition.unlock() }
        while pending.count >= maxPending && failure == nil { condition.wait() }
        if let failure { throw failure }
        pending.append(chunk)
        condition.broadcast()
    }

    /// Drains the queue, finishes compression and returns the stored bytes' SHA-256 and size.
    func finish() throws -> (sha256: String, bytes: Int64) {
        condition.lock()
        closed = true
        condition.broadcast()
        while !done { condition.wait() }
        let failure = self.failure
        condition.unlock()
        if let failure { throw failure }
        return (hasher.finalize(), storedBytes)
    }

    /// Stops the worker after a failure elsewhere; the stored file is garbage.
    func abandon() {
        condition.lock()
        closed = true
        pending.removeAll()
        condition.broadcast()
        while !done { condition.wait() }
        condition.unlock()
    }

    private func work() {
        do {
            while let chunk = next() {
                try chunk.withUnsafeBytes { try process($0) }
            }
            if let compressor { try compressor.finish { try store($0) } }
            condition.lock()
        } catch {
            condition.lock()
            failure = error
        }
        done = true
        condition.broadcast()
        condition.unlock()
    }

    private func next() -> [UInt8]? {
        condition.lock()
        defer { condition.unlock() }
        while pending.isEmpty && !closed { condition.wait() }
        if pending.isEmpty { return nil }
        let chunk = pending.removeFirst()
        condition.broadcast()
        return chunk
    }

    private func process(_ bytes: UnsafeRawBufferPointer) throws {
        if let compressor {
            try compressor.compress(bytes) { try store($0) }
        } else {
            try store(bytes)
        }
    }

    private func store(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bytes)
        storedBytes += Int64(bytes.count)
        try FileIO.writeAll(fd, bytes, path: path)
    }
}
