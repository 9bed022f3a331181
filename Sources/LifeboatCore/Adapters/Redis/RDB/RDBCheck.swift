import Foundation

/// The whole check of an RDB as it streams by, during capture, restore staging and
/// `verify --deep`: magic, version and CRC-64 (`RDBValidator`) and the structural parse
/// (`RDBParser`), which yields per-database key counts. The parser pulls; the stream pushes; so
/// the parser runs on its own thread behind a bounded hand-off (at most 8 MiB in flight), and a
/// structural error stops the stream at the next chunk.
public final class RDBCheck: EntryContentCheck {
    private let crc = RDBValidator()
    private let channel = ByteChannel(limit: 8 << 20)
    private let outcome = ParseOutcome()
    private let done = DispatchSemaphore(value: 0)
    private var finished = false

    /// Set by `finish()`.
    public private(set) var summary: RDBSummary?
    public var version: Int? { crc.version }
    public var checksumDisabled: Bool { crc.checksumDisabled }
    public var warnings: [String] { summary?.warnings ?? [] }

    public init() {
        let channel = self.channel
        let outcome = self.outcome
        let done = self.done
        let thread = Thread {
            let reader = RDBReader { channel.pull() }
            do {
                outcome.set(.success(try RDBParser(reader: reader).parse()))
                // CRC-64 without a final xor passes a file with up to 8 zero bytes appended
                // (each shifts the CRC a byte): only the structure can tell.
                let trailing = try reader.drain()
                if trailing > 0 {
                    outcome.set(.failure(LifeboatError(.integrity, "RDB has \(trailing) bytes after its end marker and checksum")))
                }
            } catch {
                outcome.set(.failure(error))
            }
            channel.abandon()
            done.signal()
        }
        thread.name = "lifeboat-rdb-parse"
        thread.start()
    }

    deinit {
        if !finished {
            channel.close()
            done.wait()
        }
    }

    public func consume(_ bytes: UnsafeRawBufferPointer) throws {
        try crc.consume(bytes)
        if case .failure(let error)? = outcome.get() { throw error }
        channel.push(Array(bytes))
    }

    public func finish() throws {
        channel.close()
        if !finished {
            done.wait()
            finished = true
        }
        try crc.finish()
        switch outcome.get() {
        case .success(let summary)?: self.summary = summary
        case .failure(let error)?: throw error
        case nil: throw LifeboatError(.integrity, "RDB structure was not parsed")
        }
    }

    /// Checks a whole file (tests, and a staged RDB).
    public static func file(_ path: String) throws -> RDBCheck {
        let check = RDBCheck()
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LifeboatError.system("cannot open", path: path) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n >= 0 else { throw LifeboatError.system("cannot read", path: path) }
            if n == 0 { break }
            try buffer.withUnsafeBytes { try check.consume(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        try check.finish()
        return check
    }
}

/// The parse thread's result.
private final class ParseOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<RDBSummary, any Error>?

    func set(_ value: Result<RDBSummary, any Error>) {
        lock.lock()
        defer { lock.unlock() }
        if case .failure? = result { return }  // the first failure wins
        result = value
    }

    func get() -> Result<RDBSummary, any Error>? {
        lock.lock()
        defer { lock.unlock() }
        return result
    }
}

/// A bounded queue of byte chunks from one producer to one consumer.
final class ByteChannel: @unchecked Sendable {
    private let condition = NSCondition()
    private var chunks: [[UInt8]] = []
    private var head = 0
    private var buffered = 0
    private var closed = false
    private var abandoned = false
    private let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// Blocks while `limit` bytes wait; drops the chunk once the consumer has gone.
    func push(_ chunk: [UInt8]) {
        condition.lock()
        defer { condition.unlock() }
        while buffered >= limit && !abandoned { condition.wait() }
        guard !abandoned, !closed else { return }
        chunks.append(chunk)
        buffered += chunk.count
        condition.broadcast()
    }

    /// The next chunk, or nil once the producer closed and everything was taken.
    func pull() -> [UInt8]? {
        condition.lock()
        defer { condition.unlock() }
        while head == chunks.count && !closed { condition.wait() }
        guard head < chunks.count else { return nil }
        let chunk = chunks[head]
        head += 1
        buffered -= chunk.count
        if head > 64 {
            chunks.removeFirst(head)
            head = 0
        }
        condition.broadcast()
        return chunk
    }

    func close() {
        condition.lock()
        defer { condition.unlock() }
        closed = true
        condition.broadcast()
    }

    func abandon() {
        condition.lock()
        defer { condition.unlock() }
        abandoned = true
        chunks.removeAll()
        head = 0
        buffered = 0
        condition.broadcast()
    }
}
