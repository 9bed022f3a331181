import Foundation

/// A connected stream socket (TCP, or a Unix socket) with send and receive timeouts.
final class TCPConnection: Connection {
    let fd: Int32
    let label: String
    private var closed = false

    private init(fd: Int32, label: String) {
        self.fd = fd
        self.label = label
        ConnectionCounter.add()
    }

    deinit { close() }

    /// Connects to `host:port`, trying each address the name resolves to (`localhost` may give
    /// ::1 first to a server that listens on 127.0.0.1 only).
    static func connect(host: String, port: Int, timeout: TimeInterval, label: String) throws -> TCPConnection {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &result)
        guard resolved == 0, result != nil else {
            let message = "\(label): cannot resolve \(host)"
            if resolved == EAI_AGAIN { throw LifeboatError.transient(message) }
            throw LifeboatError(.operationFailed, message, fix: "check the host name in the policy or URL")
        }
        defer { freeaddrinfo(result) }
        var lastError: Int32 = 0
        var candidate = result
        while let info = candidate {
            candidate = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard fd >= 0 else {
                lastError = errno
                continue
            }
            setTimeouts(fd, timeout)
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                return TCPConnection(fd: fd, label: label)
            }
            lastError = errno
            Glibc.close(fd)
        }
        throw connectFailure(label, lastError, fix: "check that the server runs and the policy's host and port")
    }

    /// Connects to the Unix socket at `path` (a Redis on `/run/redis/redis.sock`).
    static func connect(unixPath path: String, timeout: TimeInterval, label: String) throws -> TCPConnection {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw LifeboatError(.invalidInput, "\(label): the socket path \(path) is too long (at most 107 bytes)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LifeboatError.system("\(label): cannot create socket") }
        setTimeouts(fd, timeout)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            Glibc.close(fd)
            throw connectFailure(label, code, fix: "check that the server runs, that `socket:` names its unixsocket, and that this user may open it")
        }
        return TCPConnection(fd: fd, label: label)
    }

    private static func setTimeouts(_ fd: Int32, _ timeout: TimeInterval) {
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    private static func connectFailure(_ label: String, _ code: Int32, fix: String) -> LifeboatError {
        let reason = code == EINPROGRESS || code == EAGAIN ? "timed out" : String(cString: strerror(code))
        var error = LifeboatError(.operationFailed, "\(label): cannot connect: \(reason)", fix: fix)
        // A refused or timed-out connection may be a server restarting; a missing socket file or
        // a permission error will not change by trying again.
        error.isTransient = [ECONNREFUSED, ETIMEDOUT, EINPROGRESS, EAGAIN, ENETUNREACH, EHOSTUNREACH, ECONNRESET].contains(code)
        return error
    }

    func send(_ bytes: UnsafeRawBufferPointer) throws {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = Glibc.send(fd, p, left, Int32(MSG_NOSIGNAL))
            if n < 0 {
                if errno == EINTR { continue }
                throw Self.ioFailure(label, "cannot send", errno)
            }
            p += n
            left -= n
        }
    }

    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw Self.ioFailure(label, "cannot receive", errno)
        }
    }

    /// A send or receive failure: timeouts and resets are transient.
    static func ioFailure(_ label: String, _ what: String, _ code: Int32) -> LifeboatError {
        if code == EAGAIN || code == EWOULDBLOCK { return .transient("\(label): timed out waiting for the server") }
        let message = "\(label): \(what): \(String(cString: strerror(code)))"
        if [ECONNRESET, EPIPE, ECONNABORTED, ETIMEDOUT, ENETRESET].contains(code) { return .transient(message) }
        return LifeboatError(.operationFailed, message)
    }

    /// Readable while idle: the peer closed it or sent something unasked.
    var isStale: Bool { Self.readable(fd) }

    static func readable(_ fd: Int32) -> Bool {
        var probe = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&probe, 1, 0) != 0
    }

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }
}
