import CTLS
import Foundation

/// A TLS session over a `TCPConnection`: SNI, the server's certificate checked against the trust
/// store and its name (or IP address) checked against `serverName`, unless the settings say
/// `insecureSkipVerify`. A certificate that cannot be trusted is an error that says what failed
/// and how to fix it; it is never transient and never downgraded to plain.
final class TLSConnection: Connection {
    private let tcp: TCPConnection
    private let ssl: OpaquePointer
    private let settings: TLSSettings
    private var closed = false
    /// Whether anything was received after the handshake: a TLS 1.3 server refusing a missing
    /// client certificate does so only then, and a reset may overtake its alert.
    private var answered = false
    var label: String { tcp.label }

    init(over tcp: TCPConnection, context: TLSContext, serverName: String) throws {
        self.tcp = tcp
        settings = context.settings
        guard let ssl = SSL_new(context.context) else {
            throw LifeboatError(.operationFailed, "\(tcp.label): cannot start TLS: \(TLSContext.openSSLError())")
        }
        self.ssl = ssl
        SSL_set_fd(ssl, tcp.fd)
        let isAddress = Self.isIPAddress(serverName)
        if !isAddress { lifeboat_tls_set_sni(ssl, serverName) }
        if context.settings.insecureSkipVerify {
            TLSContext.warnInsecure(tcp.label)
        } else if isAddress {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), serverName)
        } else {
            SSL_set1_host(ssl, serverName)
        }
        ERR_clear_error()
        let result = SSL_connect(ssl)
        if result != 1 {
            let error = handshakeFailure(result, serverName: serverName, settings: context.settings)
            SSL_free(ssl)
            tcp.close()
            closed = true
            throw error
        }
    }

    deinit { close() }

    static func isIPAddress(_ name: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1
    }

    /// Why the handshake failed, in the words an operator needs: the certificate's problem and
    /// its fix, or the server not speaking TLS, or a client certificate it wants.
    private func handshakeFailure(_ result: Int32, serverName: String, settings: TLSSettings) -> LifeboatError {
        let errorKind = SSL_get_error(ssl, result)
        let verify = SSL_get_verify_result(ssl)
        let trustFix =
            settings.caFile.map { "the certificate is not signed by the CA in \($0): give the CA that signed it as ca_file" }
            ?? "give the CA certificate that signed it as ca_file (or, for commands without a policy, AWS_CA_BUNDLE), or add it to the system trust store"
        if verify != X509_V_OK && !settings.insecureSkipVerify {
            let code = Int32(verify)
            let (what, fix): (String, String) =
                switch code {
                case X509_V_ERR_CERT_HAS_EXPIRED:
                    ("its certificate has expired", "renew the server's certificate (or check this machine's clock)")
                case X509_V_ERR_CERT_NOT_YET_VALID:
                    ("its certificate is not valid yet", "check this machine's clock, or the certificate's start date")
                case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH:
                    (
                        "its certificate is not for \(serverName)",
                        "connect by a name the certificate lists in subjectAltName, or reissue the certificate for \(serverName)"
                    )
                case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
                    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
                    X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
                    ("its certificate is signed by an unknown CA (\(String(cString: X509_verify_cert_error_string(verify))))", trustFix)
                default:
                    ("its certificate cannot be trusted (\(String(cString: X509_verify_cert_error_string(verify))))", trustFix)
                }
            ERR_clear_error()
            return LifeboatError(.operationFailed, "\(tcp.label): TLS: the server cannot be trusted: \(what)", fix: fix)
        }
        if errorKind == SSL_ERROR_SYSCALL || errorKind == SSL_ERROR_WANT_READ || errorKind == SSL_ERROR_WANT_WRITE {
            let code = errno
            ERR_clear_error()
            if code == 0 || result == 0 {
                return .transient("\(tcp.label): TLS: the server closed the connection during the handshake")
            }
            return TCPConnection.ioFailure(tcp.label, "TLS handshake", code)
        }
        return protocolFailure("TLS handshake failed", TLSContext.openSSLError())
    }

    /// An error OpenSSL reported (an alert from the server, a protocol mismatch), with the fix
    /// for the usual causes. TLS 1.3 servers refuse a client certificate after the handshake, so
    /// this is also what the first read after it can end in. Never transient.
    private func protocolFailure(_ what: String, _ detail: String) -> LifeboatError {
        let fix: String
        if detail.contains("wrong version number") || detail.contains("packet length too long") || detail.contains("http request") {
            fix = "the server does not speak TLS on this port: check the port, or whether it serves plain http"
        } else if detail.contains("certificate required") || detail.contains("handshake failure") && settings.certFile == nil {
            fix = "the server asks for a client certificate: give cert_file and key_file"
        } else if detail.contains("unknown ca") || detail.contains("bad certificate") || detail.contains("certificate unknown") {
            fix = "the server does not accept the client certificate in cert_file: have it signed by a CA the server trusts"
        } else if detail.contains("protocol version") || detail.contains("unsupported protocol") {
            fix = "the server offers only TLS older than 1.2, which Lifeboat refuses: upgrade the server's TLS settings"
        } else {
            fix = "check the server's TLS settings and the policy's ca_file / cert_file / key_file"
        }
        return LifeboatError(.operationFailed, "\(tcp.label): \(what): \(detail)", fix: fix)
    }

    /// After the handshake: an alert is the server refusing us (not transient); anything else
    /// from OpenSSL is a broken stream, which a retry on a new connection may get past.
    private func streamFailure(_ what: String) -> LifeboatError {
        let detail = TLSContext.openSSLError()
        if detail.contains("alert") || detail.contains("wrong version number") {
            return protocolFailure("TLS: \(what)", detail)
        }
        return .transient("\(tcp.label): TLS: \(what): \(detail)")
    }

    func send(_ bytes: UnsafeRawBufferPointer) throws {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            ERR_clear_error()
            let n = SSL_write(ssl, p, Int32(min(left, 1 << 30)))
            if n > 0 {
                p += Int(n)
                left -= Int(n)
                continue
            }
            let code = errno
            let kind = SSL_get_error(ssl, n)
            if kind == SSL_ERROR_WANT_WRITE || kind == SSL_ERROR_WANT_READ {
                if code == EINTR { continue }
                throw LifeboatError.transient("\(label): timed out sending to the server")
            }
            if kind == SSL_ERROR_SYSCALL { throw firstExchangeHint(TCPConnection.ioFailure(label, "cannot send", code == 0 ? EPIPE : code)) }
            throw streamFailure("cannot send")
        }
    }

    /// A connection dropped before the server's first answer, when we presented no client
    /// certificate: say that the server may want one (its alert can be lost to the reset).
    private func firstExchangeHint(_ error: LifeboatError) -> LifeboatError {
        guard !answered, settings.certFile == nil else { return error }
        var hinted = error
        hinted.fix =
            "if the server requires client certificates (Redis tls-auth-clients, PostgreSQL clientcert, an ingress with mTLS), give cert_file and key_file"
        return hinted
    }

    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            ERR_clear_error()
            let n = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, 1 << 30)))
            if n > 0 {
                answered = true
                return Int(n)
            }
            let code = errno
            switch SSL_get_error(ssl, n) {
            case SSL_ERROR_ZERO_RETURN:
                return 0
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                // A blocking socket only "wants" more when its receive timeout ran out.
                if code == EINTR { continue }
                throw LifeboatError.transient("\(label): timed out waiting for the server")
            case SSL_ERROR_SYSCALL:
                if n == 0 || code == 0 { return 0 }  // EOF without close_notify
                throw firstExchangeHint(TCPConnection.ioFailure(label, "cannot receive", code))
            default:
                throw streamFailure("cannot receive")
            }
        }
    }

    /// Stale when the peer closed it or sent application data while idle. TLS 1.3 session
    /// tickets may arrive after a response; a non-blocking read consumes them without making the
    /// connection stale.
    var isStale: Bool {
        guard TCPConnection.readable(tcp.fd) else { return SSL_pending(ssl) > 0 }
        let flags = fcntl(tcp.fd, F_GETFL)
        _ = fcntl(tcp.fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(tcp.fd, F_SETFL, flags) }
        var byte: UInt8 = 0
        ERR_clear_error()
        let n = SSL_read(ssl, &byte, 1)
        if n > 0 { return true }
        let kind = SSL_get_error(ssl, n)
        ERR_clear_error()
        return kind != SSL_ERROR_WANT_READ
    }

    func close() {
        guard !closed else { return }
        closed = true
        SSL_shutdown(ssl)  // close_notify, best effort; the socket closes next
        SSL_free(ssl)
        tcp.close()
    }
}
