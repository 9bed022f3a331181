/// The `INFO` reply, parsed: `key:value` lines, section headers and blanks skipped.
public struct RedisInfo: Sendable {
    public let fields: [String: String]

    public init(_ text: String) {
        var fields: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        self.fields = fields
    }

    public subscript(key: String) -> String? { fields[key] }

    public func int(_ key: String) -> Int64? { fields[key].flatMap { Int64($0) } }

    /// Keys per database from the keyspace section (`db0:keys=3,expires=0,avg_ttl=0`).
    public var keyspace: [String: Int64] {
        var result: [String: Int64] = [:]
        for (key, value) in fields where key.hasPrefix("db") && key.dropFirst(2).allSatisfy(\.isNumber) {
            for part in value.split(separator: ",") where part.hasPrefix("keys=") {
                result[key] = Int64(part.dropFirst(5))
            }
        }
        return result
    }

    /// Reads `INFO [section]` through `client`.
    public static func fetch(_ client: RESPClient, section: String? = nil) throws -> RedisInfo {
        let reply = try client.expect(section.map { ["INFO", $0] } ?? ["INFO"])
        guard let text = reply.text else { throw LifeboatError(.operationFailed, "redis \(client.endpoint): INFO returned no text") }
        return RedisInfo(text)
    }
}

extension RESPClient {
    /// `expect` with an argument array.
    @discardableResult
    public func expect(_ arguments: [String]) throws -> Reply {
        let reply = try call(arguments)
        if case .error(let message) = reply {
            throw LifeboatError(.operationFailed, "redis \(endpoint): \(arguments.first ?? "") failed: \(message)")
        }
        return reply
    }
}
