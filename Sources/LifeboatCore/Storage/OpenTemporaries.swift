import Foundation

/// The temporary files of object writers that are still open, so a command that ends in an
/// error or an interrupt removes them even when a worker thread still holds its writer at exit
/// (`abort` on deinit would never run). The CLI calls `removeAll` on its way out of a failure.
public enum OpenTemporaries {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var paths: Set<String> = []

    static func register(_ path: String) { _ = lock.withLock { paths.insert(path) } }
    static func unregister(_ path: String) { _ = lock.withLock { paths.remove(path) } }

    /// Unlinks every registered temporary; returns how many there were.
    @discardableResult
    public static func removeAll() -> Int {
        let all = lock.withLock { () -> Set<String> in
            defer { paths.removeAll() }
            return paths
        }
        for path in all { unlink(path) }
        return all.count
    }
}
