import Foundation

/// Reads a stored object ahead on its own thread (the reader hashes every byte), so that reading
/// and hashing overlap with decompression and extraction on the caller's thread.
/// At most `depth` chunks wait; the reader blocks when the consumer falls behind.
final class StoredFilePrefetcher: @unchecked Sendable {
    private let input: any ObjectReader
    private let chunkSize: Int
    private let depth = 4
    private let condition = NSCondition()
    /// A filled buffer and how many of its bytes are valid.
    struct Chunk {
        var buffer: [UInt8]
        var count: Int
    }

    private var ready: [Chunk] = []
    private var spare: [[UInt8]] = []
    private var finished = false
    private var stopped = false
    private var running = true
    private var failure: (any Error)?

    /// Starts reading `input` (owned by the caller, who closes it after `stop`).
    init(input: any ObjectReader, chunkSize: Int = 1 << 20) {
        self.input = input
        self.chunkSize = chunkSize
        let thread = Thread { [self] in self.readLoop() }
        thread.name = "lifeboat-prefetch"
        thread.start()
    }

    /// The next chunk, or nil at the end of the file. Give it back with `recycle`.
    func next() throws -> Chunk? {
        condition.lock()
        defer { condition.unlock() }
        while ready.isEmpty && !finished && failure == nil { condition.wait() }
        if let failure { throw failure }
        guard !ready.isEmpty else { return nil }
        let chunk = ready.removeFirst()
        condition.broadcast()
        return chunk
    }

    /// Returns a consumed chunk's buffer for reuse.
    func recycle(_ chunk: Chunk) {
        condition.lock()
        if spare.count < depth { spare.append(chunk.buffer) }
        condition.unlock()
    }

    /// Reads to the end (draining what the consumer did not take) and returns the file's
    /// SHA-256 and size.
    func finish() throws -> (sha256: String, bytes: Int64) {
        condition.lock()
        defer { condition.unlock() }
        while !finished && failure == nil {
            ready.removeAll()
            condition.broadcast()
            condition.wait()
        }
        if let failure { throw failure }
        let digest = input.digest
        return (digest.sha256, digest.bytes)
    }

    /// Stops the reader thread and waits for it.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while running { condition.wait() }
        condition.unlock()
    }

    private func readLoop() {
        while true {
            condition.lock()
            while ready.count >= depth && !stopped { condition.wait() }
            if stopped { break }
            var buffer = spare.popLast() ?? [UInt8](repeating: 0, count: chunkSize)
            condition.unlock()
            let result = Result { try buffer.withUnsafeMutableBytes { try input.read(into: $0) } }
            condition.lock()
            switch result {
            case .success(0):
                finished = true
            case .success(let n):
                ready.append(Chunk(buffer: buffer, count: n))
            case .failure(let error):
                failure = error
            }
            condition.broadcast()
            if finished || failure != nil { break }
            condition.unlock()
        }
        running = false
        condition.broadcast()
        condition.unlock()
    }
}
