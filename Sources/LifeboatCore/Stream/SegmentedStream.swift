import Foundation

/// Stores a stream of unknown length (a child's stdout) as numbered entries, `PREFIX000001`,
/// `PREFIX000002`, …. Tar headers carry the size first, so a stream whose end is unknown cannot
/// be one entry without a temporary copy; cut into parts it needs only the part in hand. A
/// reader thread fills the next part while this one hashes and frames the previous, so the
/// producer is never stalled by our work (two parts in flight).
///
/// Parts end where the content says (FastCDC, 512 KiB to 4 MiB, about 2 MiB), not every 4 MiB:
/// rows inserted early in a dump then move only the parts around them, and the later parts,
/// each a chunk-aligned entry, deduplicate against the last snapshot's. Readers concatenate the
/// parts whatever their sizes (older snapshots have fixed 4 MiB parts).
public enum SegmentedStream {
    /// The largest part: three buffers (12 MiB) in flight.
    public static let partSize = 4 << 20

    /// The name of part `index` (from 1).
    public static func partName(_ prefix: String, _ index: Int) -> String {
        let digits = String(index)
        return prefix + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// Whether `path` is a part of the stream stored under `prefix`.
    public static func isPart(_ path: String, prefix: String) -> Bool {
        path.hasPrefix(prefix) && path.count == prefix.count + 6 && path.dropFirst(prefix.count).allSatisfy(\.isNumber)
    }

    /// Reads `fd` to its end and writes it as parts; returns the parts written and the bytes.
    public static func store(
        from fd: Int32, source: String, prefix: String, into writer: ArchiveWriter,
        mtime: timespec, partSize: Int = SegmentedStream.partSize
    ) throws -> (parts: Int, bytes: Int64) {
        let queue = PartQueue()
        Thread.detachNewThread {
            let chunker = FastCDC(FastCDC.Parameters(minimum: max(64, partSize / 8), normal: max(65, partSize / 2), maximum: max(66, partSize)))
            var buffers = [
                [UInt8](repeating: 0, count: partSize), [UInt8](repeating: 0, count: partSize),
                [UInt8](repeating: 0, count: partSize),
            ]
            var carry = [UInt8]()  // read but past the last part's end: the next part's start
            carry.reserveCapacity(partSize)
            var next = 0
            var ended = false
            while true {
                guard queue.waitForSpace() else { return }
                var filled = carry.count
                var failure: LifeboatError?
                buffers[next].withUnsafeMutableBytes { buffer in
                    carry.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                    while !ended && filled < partSize {
                        let n = Glibc.read(fd, buffer.baseAddress! + filled, partSize - filled)
                        if n < 0 && errno == EINTR { continue }
                        if n < 0 {
                            failure = LifeboatError.system("cannot read the output of", path: source)
                            break
                        }
                        if n == 0 {
                            ended = true
                            break
                        }
                        filled += n
                    }
                }
                if let failure {
                    queue.push(.failed(failure))
                    return
                }
                let length = buffers[next].withUnsafeBytes { chunker.cut(UnsafeRawBufferPointer(rebasing: $0[0..<filled])) }
                carry.removeAll(keepingCapacity: true)
                carry.append(contentsOf: buffers[next][length..<filled])
                queue.push(.part(buffers[next], length))
                if ended && carry.isEmpty {
                    queue.push(.end)
                    return
                }
                next = (next + 1) % buffers.count
            }
        }
        defer { queue.cancel() }
        var index = 0
        var total: Int64 = 0
        while true {
            switch queue.pop() {
            case .failed(let error): throw error
            case .end: return (index, total)
            case .part(let buffer, let count):
                if count > 0 || index == 0 {
                    index += 1
                    try writer.addStream(path: partName(prefix, index), size: Int64(count), mtime: mtime) { emit in
                        try buffer.withUnsafeBytes { try emit(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                    }
                    total += Int64(count)
                }
                queue.release()
            }
        }
    }

    /// Bounded hand-off between the reading thread and the writer: at most two parts waiting.
    private final class PartQueue: @unchecked Sendable {
        enum Item {
            case part([UInt8], Int)
            case end
            case failed(LifeboatError)
        }
        private let condition = NSCondition()
        private var items: [Item] = []
        private var inFlight = 0
        private var cancelled = false

        /// Blocks until a buffer may be filled; false when the consumer gave up.
        func waitForSpace() -> Bool {
            condition.lock()
            defer { condition.unlock() }
            while inFlight >= 2 && !cancelled { condition.wait() }
            if cancelled { return false }
            inFlight += 1
            return true
        }

        func push(_ item: Item) {
            condition.lock()
            items.append(item)
            condition.broadcast()
            condition.unlock()
        }

        func pop() -> Item {
            condition.lock()
            defer { condition.unlock() }
            while items.isEmpty { condition.wait() }
            return items.removeFirst()
        }

        /// The consumer is done with one part's buffer.
        func release() {
            condition.lock()
            inFlight -= 1
            condition.broadcast()
            condition.unlock()
        }

        func cancel() {
            condition.lock()
            cancelled = true
            condition.broadcast()
            condition.unlock()
        }
    }
}
