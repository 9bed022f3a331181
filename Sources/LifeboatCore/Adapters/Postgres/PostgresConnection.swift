import CLibPQ
import Foundation

/// One libpq connection, owned by this object and closed with it. All SQL Lifeboat runs
/// (version detection, sizes, `pg_switch_wal()`, checks, heartbeats) goes through this type.
/// The password travels in the connection parameters in memory, never in argv.
public final class PostgresConnection: @unchecked Sendable {
    private let conn: OpaquePointer
    public let description: String

    /// Connects to `database` on `host:port` as `user`; a failure is `.operationFailed` with
    /// libpq's message (which never contains the password).
    public init(
        host: String, port: Int, database: String, user: String?, password: String?,
        connectTimeout: Int = 10, ssl: PostgresSSL = PostgresSSL()
    ) throws {
        var params: [(String, String)] =
            [
                ("host", host), ("port", String(port)), ("dbname", database),
                ("connect_timeout", String(connectTimeout)),
                ("application_name", "lifeboat"),
            ] + ssl.parameters.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        if let user { params.append(("user", user)) }
        if let password { params.append(("password", password)) }
        let keys = params.map { strdup($0.0) }
        let values = params.map { strdup($0.1) }
        defer {
            for key in keys { free(key) }
            for value in values { free(value) }
        }
        var keyPointers: [UnsafePointer<CChar>?] = keys.map { UnsafePointer($0) } + [nil]
        var valuePointers: [UnsafePointer<CChar>?] = values.map { UnsafePointer($0) } + [nil]
        guard lifeboat_libpq_ready() != 0 else {
            throw LifeboatError(
                .operationFailed, "cannot load libpq (libpq.so.5), which PostgreSQL sources need: \(String(cString: lifeboat_libpq_error()))",
                fix: "install PostgreSQL's client library (Debian: apt-get install libpq5)")
        }
        guard let c = lb_PQconnectdbParams(&keyPointers, &valuePointers, 0) else {
            throw LifeboatError(.operationFailed, "cannot allocate a PostgreSQL connection")
        }
        description = "\(user.map { $0 + "@" } ?? "")\(host):\(port)/\(database)"
        guard lb_PQstatus(c) == CONNECTION_OK else {
            let message = String(cString: lb_PQerrorMessage(c)).trimmingCharacters(in: .whitespacesAndNewlines)
            lb_PQfinish(c)
            // Authentication failures are configuration (exit 2), as for Redis; the rest is the server.
            let auth =
                message.contains("password authentication failed") || message.contains("no password supplied")
                || message.contains("authentication failed") || message.contains("no pg_hba.conf entry")
            let tls = message.contains("certificate") || message.contains("SSL") || message.contains("sslmode")
            let fix: String? =
                auth
                ? "check `user:` and the password (password_file, PGPASSWORD or ~/.pgpass) of the source"
                : tls ? PostgresSSL.fix(for: message) : nil
            throw LifeboatError(auth ? .invalidInput : .operationFailed, "cannot connect to PostgreSQL at \(description): \(message)", fix: fix)
        }
        conn = c
    }

    deinit { lb_PQfinish(conn) }

    /// The server's version number (`150014` for 15.14).
    public var serverVersion: Int { Int(lb_PQserverVersion(conn)) }
    /// The server's major version (15).
    public var majorVersion: Int { serverVersion / 10000 }

    /// Runs `sql` (one or more statements, no parameters) and returns the last result's rows,
    /// NULL as nil. A failure is `.operationFailed` naming the statement's first line.
    @discardableResult
    public func query(_ sql: String) throws -> [[String?]] {
        guard let result = lb_PQexec(conn, sql) else {
            throw LifeboatError(.operationFailed, "PostgreSQL: \(lastError)")
        }
        defer { lb_PQclear(result) }
        return try rows(of: result, sql: sql)
    }

    /// Runs `sql` with text parameters `$1, $2, …` (values never spliced into the SQL).
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?]) throws -> [[String?]] {
        let copies = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { for copy in copies { free(copy) } }
        var pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
        guard let result = lb_PQexecParams(conn, sql, Int32(parameters.count), nil, &pointers, nil, nil, 0) else {
            throw LifeboatError(.operationFailed, "PostgreSQL: \(lastError)")
        }
        defer { lb_PQclear(result) }
        return try rows(of: result, sql: sql)
    }

    /// The first column of the first row, or nil.
    public func value(_ sql: String, _ parameters: [String?] = []) throws -> String? {
        try query(sql, parameters).first?.first ?? nil
    }

    /// Quotes an identifier for SQL (`"my db"`).
    public static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private func rows(of result: OpaquePointer, sql: String) throws -> [[String?]] {
        let status = lb_PQresultStatus(result)
        guard status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK else {
            let message = String(cString: lb_PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)
            let statement = sql.split(separator: "\n").first.map(String.init) ?? sql
            throw LifeboatError(.operationFailed, "PostgreSQL: \(message) (in: \(statement.prefix(80)))")
        }
        let rowCount = Int(lb_PQntuples(result))
        let columnCount = Int(lb_PQnfields(result))
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for r in 0..<rowCount {
            var row: [String?] = []
            for c in 0..<columnCount {
                if lb_PQgetisnull(result, Int32(r), Int32(c)) != 0 {
                    row.append(nil)
                } else {
                    row.append(String(cString: lb_PQgetvalue(result, Int32(r), Int32(c))))
                }
            }
            rows.append(row)
        }
        return rows
    }

    private var lastError: String {
        String(cString: lb_PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
