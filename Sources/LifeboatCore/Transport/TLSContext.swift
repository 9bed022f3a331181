import CTLS
import Foundation

/// One OpenSSL `SSL_CTX` per `TLSSettings`, made once and shared by every connection that uses
/// them (loading the system trust store costs more than a handshake): TLS 1.2 or newer, the
/// system store or `caFile`, a client certificate when given, peer verification unless
/// `insecureSkipVerify`.
final class TLSContext: @unchecked Sendable {
    let context: OpaquePointer
    let settings: TLSSettings

    private static let lock = NSLock()
    nonisolated(unsafe) private static var made: [TLSSettings: TLSContext] = [:]
    nonisolated(unsafe) private static var warned: Set<String> = []

    /// The shared context for `settings`; `what` names the server in errors.
    static func shared(_ settings: TLSSettings, for what: String) throws -> TLSContext {
        try lock.withLock {
            if let context = made[settings] { return context }
            let context = try TLSContext(settings, for: what)
            made[settings] = context
            return context
        }
    }

    /// Warns once per server that its certificate is not checked.
    static func warnInsecure(_ server: String) {
        let first = lock.withLock { warned.insert(server).inserted }
        guard first else { return }
        FileHandle.standardError.write(
            Data(
                "lifeboat: warning: TLS certificate verification is OFF for \(server) (insecure_skip_verify): anyone on the network path can read and change this traffic, credentials included\n"
                    .utf8))
    }

    private init(_ settings: TLSSettings, for what: String) throws {
        signal(SIGPIPE, SIG_IGN)  // OpenSSL writes with write(2): a closed peer must be EPIPE
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw LifeboatError(.operationFailed, "\(what): cannot set up TLS: \(Self.openSSLError())")
        }
        self.context = context
        self.settings = settings
        lifeboat_tls_min_version_1_2(context)
        lifeboat_tls_ignore_unexpected_eof(context)
        lifeboat_tls_auto_retry(context)
        if settings.insecureSkipVerify {
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        } else {
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
            if let caFile = settings.caFile {
                guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                    throw LifeboatError(
                        .invalidInput, "\(what): ca_file \(caFile) holds no usable CA certificate (\(Self.openSSLError()))",
                        fix: "give a PEM file with the CA certificate that signed the server's certificate")
                }
            } else if SSL_CTX_set_default_verify_paths(context) != 1 {
                throw LifeboatError(
                    .operationFailed, "\(what): cannot load the system trust store (\(Self.openSSLError()))",
                    fix: "install ca-certificates, or give ca_file")
            }
        }
        if let certFile = settings.certFile, let keyFile = settings.keyFile {
            guard SSL_CTX_use_certificate_chain_file(context, certFile) == 1 else {
                throw LifeboatError(.invalidInput, "\(what): cert_file \(certFile) is not a PEM certificate (\(Self.openSSLError()))")
            }
            guard SSL_CTX_use_PrivateKey_file(context, keyFile, SSL_FILETYPE_PEM) == 1, SSL_CTX_check_private_key(context) == 1 else {
                throw LifeboatError(
                    .invalidInput, "\(what): key_file \(keyFile) is not the private key of \(certFile) (\(Self.openSSLError()))",
                    fix: "give the PEM private key that matches the client certificate")
            }
        }
    }

    deinit { SSL_CTX_free(context) }

    /// The first queued OpenSSL error as text (and clears the queue).
    static func openSSLError() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "no detail from OpenSSL" }
        if let reason = ERR_reason_error_string(code) { return String(cString: reason) }
        var text = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &text, text.count)
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
