import Foundation

/// Where a server listens and how to speak to it: TCP `host:port` or a Unix socket, plain or
/// under TLS. `serverName` is the name the certificate must carry (SNI and verification); it is
/// the host unless a virtual host differs (an S3 bucket's `BUCKET.s3.amazonaws.com`).
public struct Endpoint: Sendable, Hashable {
    public enum Address: Sendable, Hashable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    public var address: Address
    /// nil: plain TCP.
    public var tls: TLSSettings?
    public var serverName: String?

    public init(_ address: Address, tls: TLSSettings? = nil, serverName: String? = nil) {
        self.address = address
        self.tls = tls
        self.serverName = serverName
    }

    public static func tcp(_ host: String, _ port: Int, tls: TLSSettings? = nil) -> Endpoint {
        Endpoint(.tcp(host: host, port: port), tls: tls)
    }

    /// `127.0.0.1:6379`, or the socket's path.
    public var display: String {
        switch address {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): path
        }
    }

    /// Opens a new connection; `label` names the peer in errors.
    public func connect(timeout: TimeInterval, label: String) throws -> any Connection {
        let tcp: TCPConnection
        let host: String
        switch address {
        case .tcp(let name, let port):
            tcp = try TCPConnection.connect(host: name, port: port, timeout: timeout, label: label)
            host = name
        case .unix(let path):
            tcp = try TCPConnection.connect(unixPath: path, timeout: timeout, label: label)
            host = "localhost"
        }
        guard let tls else { return tcp }
        let context = try TLSContext.shared(tls, for: label)
        return try TLSConnection(over: tcp, context: context, serverName: serverName ?? host)
    }
}
