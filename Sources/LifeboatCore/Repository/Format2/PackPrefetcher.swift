import Foundation

/// Reads the packs a stream needs ahead of it: `fetchers` threads each GET and prove a whole
/// pack (on S3 those are requests in flight at once), at most `depth` packs are held, and the
/// stream takes them in order. A restore from RGW then waits for the network once, not per pack.
/// A pack `wanted` declines (every chunk the stream would read from it is held by the caller,
/// as a delta restore's unchanged files are) is not fetched.
final class PackPrefetcher: @unchecked Sendable {
    private let store: ChunkStore
    private let packs: [IndexFile.Pack]
    private let depth: Int
    private let wanted: @Sendable (Int) -> Bool
    private let condition = NSCondition()
    // Under `condition`. A nil result: the pack was not wanted, so not fetched.
    private var ready: [Int: Result<[UInt8], any Error>?] = [:]
    private var claimed = 0
    private var taken = 0
    /// Packs fetched or being fetched and not taken: at most `depth` (declined ones do not count).
    private var holding = 0
    private var stopped = false
    private var running = 0

    /// `packs`: the stream's packs in the order it reads them (consecutive repeats removed);
    /// `wanted(position)`: whether the stream will read from `packs[position]` (may block).
    init(
        store: ChunkStore, packs: [IndexFile.Pack], fetchers: Int = 2, depth: Int = 2,
        wanted: @escaping @Sendable (Int) -> Bool = { _ in true }
    ) {
        self.store = store
        self.packs = packs
        self.depth = max(depth, fetchers)
        self.wanted = wanted
        let count = min(fetchers, packs.count)
        running = count
        for i in 0..<count {
            let thread = Thread { [self] in fetchLoop() }
            thread.name = "lifeboat-pack-read-\(i)"
            thread.start()
        }
    }

    deinit { stop() }

    /// The bytes of `packs[position]`; positions are taken in increasing order, and the ones
    /// passed over are dropped.
    func take(_ position: Int) throws -> [UInt8] {
        condition.lock()
        guard position >= taken, position < packs.count else {
            condition.unlock()
            return try store.fetch(packs[position])  // out of order (not expected): read it directly
        }
        for passed in taken..<position {
            if case .some(.some) = ready.removeValue(forKey: passed) { holding -= 1 }  // fetched, not needed
        }
        taken = position
        condition.broadcast()
        while ready[position] == nil { condition.wait() }
        let result = ready.removeValue(forKey: position)!
        if result != nil { holding -= 1 }
        taken = position + 1
        condition.broadcast()
        condition.unlock()
        guard let result else { return try store.fetch(packs[position]) }  // declined, yet read
        return try result.get()
    }

    /// Stops the fetchers (waits for the ones running).
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    private func fetchLoop() {
        condition.lock()
        while !stopped && max(claimed, taken) < packs.count {
            if holding >= depth {
                condition.wait()
                continue
            }
            let position = max(claimed, taken)  // what the stream has passed over is not fetched
            claimed = position + 1
            holding += 1
            condition.unlock()
            let result: Result<[UInt8], any Error>? = wanted(position) ? Result { try store.fetch(packs[position]) } : nil
            condition.lock()
            if position >= taken {
                ready[position] = .some(result)
                if result == nil { holding -= 1 }
            } else {
                holding -= 1
            }
            condition.broadcast()
        }
        running -= 1
        condition.broadcast()
        condition.unlock()
    }
}
