import Foundation
import LifeboatCore

/// What one `lifeboat wal fetch` does, as plain values: built by `WalFetchCommand`
/// (ArgumentParser) or, for restore_command's usual forms, straight from argv by `HotEntry`.
struct WalFetch: Equatable, Encodable {
    var global: GlobalValues
    var prefetch = WALPrefetch.defaultCount
    var name: String
    var destination: String

    /// Why these values cannot run together, if they cannot (a usage error).
    var invalidity: String? {
        (0...64).contains(prefetch) ? nil : "--prefetch takes 0 to 64 segments"
    }

    func run() throws {
        let queue = WALPrefetch(destination: destination, count: prefetch)
        if prefetch > 0 && WALArchive.isSegment(name) {
            queue.dropPassed(before: name)
            if queue.take(name, to: destination) {
                if global.verbose { print("\(name): from the prefetch queue") }
                try startPrefetcher(queue)
                return
            }
        }
        let repository = try global.openRepository()
        let bytes = try WALArchive(repository: repository).fetch(name: name, to: destination)
        if global.verbose { print("\(name): \(ProgressLine.bytes(bytes))") }
        try startPrefetcher(queue)
    }

    /// Starts `wal prefetch` after `name` when the queue runs low (and no prefetcher holds it).
    private func startPrefetcher(_ queue: WALPrefetch) throws {
        guard queue.wantsMore(after: name) else { return }
        try ChildProcess.detach(
            [ChildProcess.currentExecutable, "wal", "prefetch"] + (try global.repositoryArguments())
                + ["--queue", queue.queue, "--count", String(queue.count), name])
    }
}
