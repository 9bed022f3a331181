import Foundation

/// A byte stream to a server, plain or under TLS: what the RESP and HTTP clients speak over.
/// One thread uses a connection at a time; `close` is idempotent.
public protocol Connection: AnyObject {
    /// The peer in errors: `redis 127.0.0.1:6379`, `https://s3.eu-west-1.amazonaws.com`.
    var label: String { get }
    /// Sends every byte or throws (a closed peer is an error, never SIGPIPE).
    func send(_ bytes: UnsafeRawBufferPointer) throws
    /// Reads what is available, at most `buffer.count` bytes; 0 when the peer closed the stream.
    /// A timeout or a reset throws a transient error.
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Whether an idle connection can no longer carry a request: the peer closed it, or sent
    /// something nobody asked for. Checked before a pooled connection is reused.
    var isStale: Bool { get }
    func close()
}

/// Counts the connections this process opened, for `--verbose` and the benchmarks (a multipart
/// upload should open `uploads_in_flight` + 1 of them, not one per part).
public enum ConnectionCounter {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var count = 0

    public static var opened: Int { lock.withLock { count } }
    static func add() { lock.withLock { count += 1 } }
}
