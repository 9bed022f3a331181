import Foundation

/// Reads the packs a stream needs ahead of it: `fetchers` threads each GET and prove a whole
/// pack (on S3 those are requests in flight at once), at most `depth` packs are held, and the
/// stream takes them in order. A restore from RGW then waits for the network once, not per pack.
final class PackPrefetcher: @unchecked Sendable {
    private let store: ChunkStore
    private let packs: [IndexFile.Pack]
    private let depth: Int
    private let condition = NSCondition()
    // Under `condition`.
    private var ready: [Int: Result<[UInt8], any Error>] = [:]
    private var claimed = 0
    private var taken = 0
    private var stopped = false
    private var running = 0

    /// `packs`: the stream's packs in the order it reads them (consecutive repeats removed).
    init(store: ChunkStore, packs: [IndexFile.Pack], fetchers: Int = 2, depth: Int = 2) {
        self.store = store
        self.packs = packs
        self.depth = max(depth, fetchers)
        let count = min(fetchers, packs.count)
        running = count
        for i in 0..<count {
            let thread = Thread { [self] in fetchLoop() }
            thread.name = "lifeboat-pack-read-\(i)"
            thread.start()
        }
    }

    deinit { stop() }

    /// The next pack's bytes; `pack` must be the next in the list.
    func next(_ pack: IndexFile.Pack) throws -> [UInt8] {
        condition.lock()
        guard taken < packs.count, packs[taken] == pack else {
            condition.unlock()
            return try store.fetch(pack)  // out of order (not expected): read it directly
        }
        while ready[taken] == nil { condition.wait() }
        let result = ready.removeValue(forKey: taken)!
        taken += 1
        condition.broadcast()
        condition.unlock()
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
        while !stopped && claimed < packs.count {
            if claimed - taken >= depth {
                condition.wait()
                continue
            }
            let position = claimed
            claimed += 1
            condition.unlock()
            let result = Result { try store.fetch(packs[position]) }
            condition.lock()
            ready[position] = result
            condition.broadcast()
        }
        running -= 1
        condition.broadcast()
        condition.unlock()
    }
}
