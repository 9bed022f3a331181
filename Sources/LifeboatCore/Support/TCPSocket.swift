import Foundation

/// A connected TCP socket with send and receive timeouts; shared by the RESP and HTTP clients.
enum TCPSocket {
    /// Connects to `host:port`; `label` names the peer in errors (`redis 127.0.0.1:6379`).
    static func connect(host: String, port: Int, timeout: TimeInterval, label: String) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else {
            throw LifeboatError(.operationFailed, "\(label): cannot resolve \(host)")
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0 else { throw LifeboatError.system("\(label): cannot create socket") }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let code = errno
            close(fd)
            throw LifeboatError(.operationFailed, "\(label): cannot connect: \(String(cString: strerror(code)))",
                                fix: "check that the server runs and the policy's host and port")
        }
        return fd
    }

    /// Sends every byte (MSG_NOSIGNAL: a closed peer is an error, not SIGPIPE).
    static func sendAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, label: String) throws {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = send(fd, p, left, Int32(MSG_NOSIGNAL))
            if n < 0 {
                if errno == EINTR { continue }
                throw LifeboatError.system("\(label): cannot send")
            }
            p += n
            left -= n
        }
    }
}
