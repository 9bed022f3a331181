import Foundation

/// A small Redis client over one connection (TCP, TLS or a Unix socket): RESP2 commands and
/// replies, with a timeout, and raw reads for the replication stream. Owns the connection.
public final class RESPClient {
    /// A reply as RESP2 encodes it.
    public enum Reply: Equatable, Sendable {
        case simple(String)
        case error(String)
        case integer(Int64)
        case bulk([UInt8]?)
        case array([Reply]?)

        /// The reply as text (simple or bulk string), if it is one.
        public var text: String? {
            switch self {
            case .simple(let s): return s
            case .bulk(let b?): return String(decoding: b, as: UTF8.self)
            default: return nil
            }
        }
    }

    let connection: any Connection
    let endpoint: String
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var start = 0
    private var end = 0

    /// Connects to `host:port` (IPv4 or a resolvable name) with `timeout` for connect and reads.
    public convenience init(host: String, port: Int, timeout: TimeInterval = 10) throws {
        try self.init(.tcp(host, port), timeout: timeout)
    }

    /// Connects to `server` (TLS when it says so) with `timeout` for connect and reads.
    public init(_ server: Endpoint, timeout: TimeInterval = 10) throws {
        endpoint = server.display
        connection = try server.connect(timeout: timeout, label: "redis \(endpoint)")
    }

    deinit { connection.close() }

    /// Sends one command and reads its reply; a RESP error reply is returned, not thrown.
    @discardableResult
    public func call(_ arguments: String...) throws -> Reply {
        try call(arguments)
    }

    public func call(_ arguments: [String]) throws -> Reply {
        try send(arguments)
        return try readReply()
    }

    /// Sends a command and expects a non-error reply.
    @discardableResult
    public func expect(_ arguments: String...) throws -> Reply {
        let reply = try call(arguments)
        if case .error(let message) = reply {
            throw LifeboatError(.operationFailed, "redis \(endpoint): \(arguments.first ?? "") failed: \(message)")
        }
        return reply
    }

    /// Authenticates when a password is given (`AUTH [user] password`).
    public func authenticate(user: String?, password: String?) throws {
        guard let password else { return }
        let args = user.map { ["AUTH", $0, password] } ?? ["AUTH", password]
        if case .error(let message) = try call(args) {
            throw LifeboatError(
                .invalidInput, "redis \(endpoint): authentication failed: \(message)",
                fix: "check the user and the password file or environment variable")
        }
    }

    func send(_ arguments: [String]) throws {
        var out = Array("*\(arguments.count)\r\n".utf8)
        for a in arguments {
            let bytes = Array(a.utf8)
            out += Array("$\(bytes.count)\r\n".utf8) + bytes + [13, 10]
        }
        try out.withUnsafeBytes { try connection.send($0) }
    }

    /// Reads one reply.
    public func readReply() throws -> Reply {
        let line = try readLine()
        guard let kind = line.first else { throw protocolError("empty reply line") }
        let rest = String(decoding: line.dropFirst(), as: UTF8.self)
        switch kind {
        case UInt8(ascii: "+"): return .simple(rest)
        case UInt8(ascii: "-"): return .error(rest)
        case UInt8(ascii: ":"):
            guard let n = Int64(rest) else { throw protocolError("bad integer \(rest)") }
            return .integer(n)
        case UInt8(ascii: "$"):
            guard let n = Int(rest) else { throw protocolError("bad bulk length \(rest)") }
            if n < 0 { return .bulk(nil) }
            let body = try readExactly(n)
            _ = try readExactly(2)
            return .bulk(body)
        case UInt8(ascii: "*"):
            guard let n = Int(rest) else { throw protocolError("bad array length \(rest)") }
            if n < 0 { return .array(nil) }
            return .array(try (0..<n).map { _ in try readReply() })
        default:
            throw protocolError("unexpected reply type \(Character(Unicode.Scalar(kind)))")
        }
    }

    /// Reads a line without its CRLF.
    func readLine() throws -> [UInt8] {
        var line: [UInt8] = []
        while true {
            if start == end { try fill() }
            while start < end {
                let byte = buffer[start]
                start += 1
                if byte == 10 {
                    if line.last == 13 { line.removeLast() }
                    return line
                }
                line.append(byte)
            }
        }
    }

    func readExactly(_ count: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        try read(count) { out.append(contentsOf: $0) }
        return out
    }

    /// Streams exactly `count` bytes to `body` in blocks.
    func read(_ count: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var left = count
        while left > 0 {
            if start == end { try fill() }
            let n = min(left, end - start)
            try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<(start + n)])) }
            start += n
            left -= n
        }
    }

    /// Streams bytes until `marker` ends the stream (diskless replication); `body` never sees the marker.
    func read(untilMarker marker: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var tail: [UInt8] = []  // the last marker.count bytes seen, held back
        while true {
            if start == end { try fill() }
            let chunk = Array(buffer[start..<end])
            start = end
            var window = tail + chunk
            if window.count >= marker.count, Array(window.suffix(marker.count)) == marker {
                window.removeLast(marker.count)
                try window.withUnsafeBytes { try body($0) }
                return
            }
            let keep = min(marker.count, window.count)
            tail = Array(window.suffix(keep))
            window.removeLast(keep)
            try window.withUnsafeBytes { try body($0) }
        }
    }

    private func fill() throws {
        let n = try buffer.withUnsafeMutableBytes { try connection.receive(into: $0) }
        guard n > 0 else { throw LifeboatError.transient("redis \(endpoint): connection closed by the server") }
        start = 0
        end = n
    }

    private func protocolError(_ what: String) -> LifeboatError {
        LifeboatError(.operationFailed, "redis \(endpoint): protocol error: \(what)")
    }
}
