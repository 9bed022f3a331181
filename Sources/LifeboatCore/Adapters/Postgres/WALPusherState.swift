import Foundation

/// What the pusher last recorded (`pusher.json`).
public struct WALPusherState: Codable, Sendable {
    public var pid: Int32
    public var started: Date
    public var updated: Date
    /// Files stored since it started (spooled and read ahead).
    public var pushed: Int = 0
    public var lastPushed: String?
    public var lastPushedAt: Date?
    public var failure: Failure?

    public struct Failure: Codable, Sendable {
        public var name: String
        public var message: String
        public var since: Date
        public var attempts: Int

        init(name: String, message: String, since: Date, attempts: Int) {
            (self.name, self.message, self.since, self.attempts) = (name, message, since, attempts)
        }

        enum CodingKeys: String, CodingKey { case name, message, since, attempts }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            message = try c.decode(String.self, forKey: .message)
            since = Timestamp.parse(try c.decode(String.self, forKey: .since)) ?? Date(timeIntervalSince1970: 0)
            attempts = try c.decode(Int.self, forKey: .attempts)
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(message, forKey: .message)
            try c.encode(Timestamp.rfc3339(since, fractional: true), forKey: .since)
            try c.encode(attempts, forKey: .attempts)
        }
    }

    enum CodingKeys: String, CodingKey {
        case pid, started, updated, pushed, failure
        case lastPushed = "last_pushed"
        case lastPushedAt = "last_pushed_at"
    }

    init(pid: Int32, started: Date, updated: Date) {
        self.pid = pid
        self.started = started
        self.updated = updated
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func date(_ key: CodingKeys) throws -> Date? {
            try c.decodeIfPresent(String.self, forKey: key).flatMap(Timestamp.parse)
        }
        pid = try c.decode(Int32.self, forKey: .pid)
        started = try date(.started) ?? Date(timeIntervalSince1970: 0)
        updated = try date(.updated) ?? Date(timeIntervalSince1970: 0)
        pushed = try c.decode(Int.self, forKey: .pushed)
        lastPushed = try c.decodeIfPresent(String.self, forKey: .lastPushed)
        lastPushedAt = try date(.lastPushedAt)
        failure = try c.decodeIfPresent(Failure.self, forKey: .failure)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(pid, forKey: .pid)
        try c.encode(Timestamp.rfc3339(started, fractional: true), forKey: .started)
        try c.encode(Timestamp.rfc3339(updated, fractional: true), forKey: .updated)
        try c.encode(pushed, forKey: .pushed)
        try c.encodeIfPresent(lastPushed, forKey: .lastPushed)
        try c.encodeIfPresent(lastPushedAt.map { Timestamp.rfc3339($0, fractional: true) }, forKey: .lastPushedAt)
        try c.encodeIfPresent(failure, forKey: .failure)
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }()
    static let decoder = JSONDecoder()
}
