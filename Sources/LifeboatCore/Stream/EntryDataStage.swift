import Foundation

/// The second stage of reading an entry: hashes its content and hands it to the consumer
/// (writing a file, feeding pg_restore) on its own thread, while the reading thread decompresses
/// the next block. Blocks are copied into recycled buffers, at most three waiting. The consumer
/// runs only between `begin` and `end`/`abandon`, which return only when it is done, so it
/// never outlives the call that lent it.
final class EntryDataStage: @unchecked Sendable {
    private let condition = NSCondition()
    private var waiting: [(buffer: [UInt8], count: Int)] = []
    private var spare: [[UInt8]] = []
    private var busy = false
    private var stopped = false
    private var consumer: ((UnsafeRawBufferPointer) throws -> Void)?
    private var hasher = SHA256Hasher()
    private var failure: (any Error)?

    init() {
        Thread.detachNewThread { [self] in work() }
    }

    /// Ends the worker thread; call once, when the reader is released.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    /// Starts an entry whose content goes to `consumer`.
    func begin(_ consumer: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        condition.lock()
        self.consumer = consumer
        hasher = SHA256Hasher()
        failure = nil
        condition.unlock()
    }

    /// Queues a copy of `bytes`; throws the consumer's error as soon as it has one.
    func submit(_ bytes: UnsafeRawBufferPointer) throws {
        condition.lock()
        defer { condition.unlock() }
        while waiting.count >= 3 && failure == nil { condition.wait() }
        if let failure { throw failure }
        var buffer = spare.popLast() ?? []
        if buffer.count < bytes.count { buffer = [UInt8](repeating: 0, count: max(bytes.count, 256 * 1024)) }
        buffer.withUnsafeMutableBytes { $0.copyMemory(from: bytes) }
        waiting.append((buffer, bytes.count))
        condition.broadcast()
    }

    /// Waits until the entry's content is consumed; returns its SHA-256 or the consumer's error.
    func end() throws -> String {
        condition.lock()
        defer { condition.unlock() }
        while (!waiting.isEmpty || busy) && failure == nil { condition.wait() }
        while busy { condition.wait() }
        consumer = nil
        if let failure {
            spare += waiting.map(\.buffer)
            waiting.removeAll()
            throw failure
        }
        return hasher.finalize()
    }

    /// Drops what is queued and waits until the consumer is no longer running.
    func abandon() {
        condition.lock()
        spare += waiting.map(\.buffer)
        waiting.removeAll()
        while busy { condition.wait() }
        consumer = nil
        condition.unlock()
    }

    private func work() {
        condition.lock()
        while true {
            while waiting.isEmpty && !stopped { condition.wait() }
            if stopped { break }
            let (buffer, count) = waiting.removeFirst()
            busy = true
            var consumer = failure == nil ? self.consumer : nil
            let hasher = self.hasher
            condition.unlock()
            var error: (any Error)?
            if let run = consumer {
                buffer.withUnsafeBytes { all in
                    let bytes = UnsafeRawBufferPointer(rebasing: all[0..<count])
                    hasher.update(bytes)
                    do { try run(bytes) } catch let e { error = e }
                }
            }
            consumer = nil  // before `end` can return: the lent closure must not outlive it
            condition.lock()
            if let error, failure == nil { failure = error }
            busy = false
            spare.append(buffer)
            condition.broadcast()
        }
        condition.unlock()
    }
}
