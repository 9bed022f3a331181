import Foundation

/// The end of the capture pipeline. The tar stream is cut into blocks of `blockSize`; worker
/// threads compress each block into an independent frame (a zstd frame or a gzip member: their
/// concatenation is a valid stream for any decoder), and a writer thread stores the frames in
/// order into an `ObjectWriter` (which hashes what it stores). The caller's thread only copies into the
/// current block. At most `maxInFlight` blocks exist at once, so the producer blocks when the
/// workers fall behind, and block and frame buffers are recycled through `spare` rather than
/// freed (freed 4 MiB buffers stayed in glibc's per-thread arenas and grew RSS by ~45 MB).
/// Where `ArchiveWriter` sends the tar stream: a stored file (`StoredFileSink`, format 1) or the
/// chunk store (`ChunkingSink`, format 2).
protocol ArchiveSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Ends the stream; returns what the manifest records as the component's `sha256`/`bytes`.
    func finish() throws -> (sha256: String, bytes: Int64)
    /// Stops after a failure elsewhere; what was stored is garbage.
    func abandon()
    /// The error a write from libarchive's callback threw (libarchive itself only sees -1).
    var callbackError: (any Error)? { get set }
    /// True when the sink cuts the stream at `boundary()` (libarchive must then not buffer).
    var wantsBoundaries: Bool { get }
    /// The start or the end of a large file's content: a content-defined sink cuts here, so the
    /// file's chunks do not depend on its neighbours.
    func boundary() throws
}

extension StoredFileSink: ArchiveSink {
    var wantsBoundaries: Bool { false }
    func boundary() throws {}
}

final class StoredFileSink: @unchecked Sendable {
    static let blockSize = 1 << 20

    private let output: any ObjectWriter
    private let compression: Compression
    private let condition = NSCondition()
    private let maxInFlight: Int
    // Shared state, under `condition`.
    private var jobs: [(sequence: Int, block: [UInt8])] = []
    private var frames: [Int: [UInt8]] = [:]
    private var spare: [[UInt8]] = []
    private var submitted = 0
    private var written = 0
    private var closed = false
    private var runningThreads = 0
    private var failure: (any Error)?
    /// The error a write from libarchive's callback threw (libarchive itself only sees -1), so
    /// the writer can report it with its path or endpoint instead of "unknown libarchive error".
    var callbackError: (any Error)?
    // Touched only by the caller's thread.
    private var current: [UInt8] = []
    /// Starts the workers and the writer for `output`.
    init(output: any ObjectWriter, compression: Compression, workers: Int = 2) throws {
        self.output = output
        self.compression = compression
        _ = try compression.makeCompressor()  // fail here, not in a worker, on a bad setting
        let workerCount = max(1, workers)
        maxInFlight = workerCount + 1
        current.reserveCapacity(Self.blockSize)
        runningThreads = workerCount + 1
        for i in 0..<workerCount {
            let thread = Thread { [self] in self.compressLoop() }
            thread.name = "lifeboat-compress-\(i)"
            thread.start()
        }
        let writer = Thread { [self] in self.writeLoop() }
        writer.name = "lifeboat-store"
        writer.start()
    }

    /// Appends `bytes` to the stream; blocks while too many blocks are in flight.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try Cancellation.process.check()
        var rest = bytes[...]
        while !rest.isEmpty {
            let take = min(rest.count, Self.blockSize - current.count)
            current.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest.prefix(take)))
            rest = rest.dropFirst(take)
            if current.count == Self.blockSize { try submit() }
        }
    }

    /// Submits the last block, waits for every frame to be stored, commits the object and
    /// returns the stored bytes' SHA-256 and size.
    func finish() throws -> (sha256: String, bytes: Int64) {
        if !current.isEmpty || submitted == 0 { try submit() }
        condition.lock()
        closed = true
        condition.broadcast()
        while runningThreads > 0 { condition.wait() }
        let failure = self.failure
        condition.unlock()
        if let failure {
            output.abort()
            throw failure
        }
        let digest = try output.commit()
        return (digest.sha256, digest.bytes)
    }

    /// Stops every thread after a failure elsewhere; what was stored is garbage.
    func abandon() {
        condition.lock()
        if failure == nil { failure = LifeboatError(.operationFailed, "abandoned") }
        closed = true
        jobs.removeAll()
        condition.broadcast()
        while runningThreads > 0 { condition.wait() }
        condition.unlock()
        output.abort()
    }

    private func submit() throws {
        condition.lock()
        defer { condition.unlock() }
        while submitted - written >= maxInFlight && failure == nil { condition.wait() }
        if let failure { throw failure }
        jobs.append((submitted, current))
        submitted += 1
        condition.broadcast()
        current = takeBuffer()
    }

    /// A cleared buffer with block-sized capacity; call with `condition` locked.
    private func takeBuffer() -> [UInt8] {
        if let buffer = spare.popLast() { return buffer }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(Self.blockSize)
        return buffer
    }

    /// Gives a buffer back for reuse; call with `condition` locked.
    private func recycle(_ buffer: inout [UInt8]) {
        buffer.removeAll(keepingCapacity: true)
        if spare.count < 2 * maxInFlight + 2 { spare.append(buffer) }
        buffer = []
    }

    private func compressLoop() {
        while let (sequence, block) = nextJob() {
            do {
                var input = block
                var frame = input
                if compression != .none {
                    condition.lock()
                    frame = takeBuffer()
                    condition.unlock()
                    try compressFrame(input, into: &frame)
                }
                condition.lock()
                frames[sequence] = frame
                if compression != .none { recycle(&input) }
                condition.broadcast()
                condition.unlock()
            } catch {
                fail(error)
            }
        }
        threadDone()
    }

    private func nextJob() -> (Int, [UInt8])? {
        condition.lock()
        defer { condition.unlock() }
        while jobs.isEmpty && !closed && failure == nil { condition.wait() }
        guard failure == nil, !jobs.isEmpty else { return nil }
        return jobs.removeFirst()
    }

    private func compressFrame(_ block: [UInt8], into frame: inout [UInt8]) throws {
        guard let compressor = try compression.makeCompressor() else { return }
        try block.withUnsafeBytes { input in
            try compressor.compress(input) { frame.append(contentsOf: $0) }
        }
        try compressor.finish { frame.append(contentsOf: $0) }
    }

    private func writeLoop() {
        while true {
            condition.lock()
            while frames[written] == nil && failure == nil && !(closed && written == submitted) { condition.wait() }
            guard failure == nil, var frame = frames.removeValue(forKey: written) else {
                condition.unlock()
                break
            }
            condition.unlock()
            do {
                try frame.withUnsafeBytes { try output.write($0) }
            } catch {
                fail(error)
                break
            }
            condition.lock()
            written += 1
            recycle(&frame)
            condition.broadcast()
            condition.unlock()
        }
        threadDone()
    }

    private func fail(_ error: any Error) {
        condition.lock()
        if failure == nil { failure = error }
        condition.broadcast()
        condition.unlock()
    }

    private func threadDone() {
        condition.lock()
        runningThreads -= 1
        condition.broadcast()
        condition.unlock()
    }
}
