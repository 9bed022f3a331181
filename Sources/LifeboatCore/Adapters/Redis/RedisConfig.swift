import Foundation

/// The parts of a `redis.conf` a restore needs: where the server listens (port, TLS port and its
/// certificates, Unix socket), where its RDB and AOF live, and its password. Later directives
/// win, as in Redis; `include` is not followed.
public struct RedisConfig: Sendable {
    public var path: String
    public var port = 6379
    public var bind = "127.0.0.1"
    /// The data directory, resolved against the config file's directory when relative.
    public var dir: String
    public var dbfilename = "dump.rdb"
    public var appendonly = false
    public var appenddirname = "appendonlydir"
    public var requirepass: String?
    /// The server's log file (resolved against the config's directory), if it logs to one.
    public var logfile: String?
    /// Where a daemonized server writes its pid (Redis's default when the config names none).
    public var pidfile = "/var/run/redis.pid"
    public var tlsPort = 0
    public var unixSocket: String?
    /// The server's TLS files: its CA (what a client trusts), and the client certificate it
    /// presents to others (`tls-client-cert-file`, else its own `tls-cert-file`).
    public var tlsCAFile: String?
    public var tlsCertFile: String?
    public var tlsKeyFile: String?
    public var tlsClientCertFile: String?
    public var tlsClientKeyFile: String?

    /// How a restore reaches this server: its plain port, else its TLS port (trusting its own CA,
    /// presenting its client certificate), else its Unix socket.
    public var endpoint: Endpoint {
        if port != 0 { return .tcp(bind, port) }
        if tlsPort != 0 {
            let cert = tlsClientCertFile ?? tlsCertFile
            let key = tlsClientCertFile != nil ? tlsClientKeyFile : tlsKeyFile
            return .tcp(bind, tlsPort, tls: TLSSettings(caFile: tlsCAFile, certFile: cert, keyFile: key))
        }
        if let unixSocket { return Endpoint(.unix(path: unixSocket)) }
        return .tcp(bind, port)
    }

    public var rdbPath: String { dir + "/" + dbfilename }
    public var aofPath: String { dir + "/" + appenddirname }

    public init(path given: String) throws {
        let path = FileIO.absolute(given)
        self.path = path
        let base = (path as NSString).deletingLastPathComponent
        dir = base.isEmpty ? "." : base
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw LifeboatError(.invalidInput, "cannot read redis config \(path)", fix: "give the server's redis.conf with --to-config")
        }
        func resolve(_ value: String) -> String { value.hasPrefix("/") ? value : (base as NSString).appendingPathComponent(value) }
        for raw in text.split(whereSeparator: \.isNewline) {
            let words = raw.split(whereSeparator: { $0 == " " || $0 == "\t" }).map {
                String($0).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            }
            guard let key = words.first?.lowercased(), !key.hasPrefix("#"), words.count >= 2 else { continue }
            let value = words[1]
            switch key {
            case "port": port = Int(value) ?? port
            case "bind": bind = value == "*" || value == "0.0.0.0" ? "127.0.0.1" : value.replacingOccurrences(of: "-", with: "")
            case "dir": dir = value.hasPrefix("/") ? value : ((dir as NSString).appendingPathComponent(value) as NSString).standardizingPath
            case "dbfilename": dbfilename = value
            case "appendonly": appendonly = value.lowercased() == "yes"
            case "appenddirname": appenddirname = value
            case "requirepass": requirepass = value
            case "pidfile": pidfile = value.hasPrefix("/") ? value : (base as NSString).appendingPathComponent(value)
            case "tls-port": tlsPort = Int(value) ?? tlsPort
            case "unixsocket": unixSocket = resolve(value)
            case "tls-ca-cert-file": tlsCAFile = resolve(value)
            case "tls-cert-file": tlsCertFile = resolve(value)
            case "tls-key-file": tlsKeyFile = resolve(value)
            case "tls-client-cert-file": tlsClientCertFile = resolve(value)
            case "tls-client-key-file": tlsClientKeyFile = resolve(value)
            case "logfile": logfile = value.isEmpty ? nil : (value.hasPrefix("/") ? value : (base as NSString).appendingPathComponent(value))
            default: break
            }
        }
    }
}
