import Foundation

/// Where a physical PostgreSQL restore stops replaying WAL, and what happens around it.
public struct RecoveryTarget: Sendable, Codable, Equatable {
    public enum Kind: Sendable, Codable, Equatable {
        /// `recovery_target_time` (the text as given, RFC 3339).
        case time(String)
        /// To the end of the archived WAL.
        case latest
        /// `recovery_target_name`, a point made with `pg_create_restore_point()`.
        case name(String)
        /// The base backup's own consistent end point.
        case immediate

        /// The instant of a `.time` target.
        public var instant: Date? {
            if case .time(let text) = self { return Timestamp.parse(text) }
            return nil
        }
    }

    public var kind: Kind
    /// Start the server and wait until recovery has ended and it is promoted.
    public var start: Bool
    /// Keep `archive_mode` as the backup had it. Off by default: a restored copy that archives
    /// into the same repository would mix its new timeline into the source's archive.
    public var keepArchiving: Bool
    /// The repository whose WAL archive `restore_command` fetches from.
    public var repository: String
    /// The key files `restore_command` passes on for an encrypted repository (paths, never keys;
    /// the server's user must be able to read them).
    public var keyFiles: KeyFiles
    /// Segments `restore_command` keeps downloaded ahead of replay (`wal fetch --prefetch`).
    public var prefetch = WALPrefetch.defaultCount

    public init(kind: Kind, start: Bool = false, keepArchiving: Bool = false, repository: String, keyFiles: KeyFiles = KeyFiles()) {
        self.kind = kind
        self.start = start
        self.keepArchiving = keepArchiving
        self.repository = repository
        self.keyFiles = keyFiles
    }

    /// Parses `--at`: `latest` or an RFC 3339 time with a zone (`2026-11-22T10:15:00.250Z`).
    public static func parseTime(_ text: String) throws -> Kind {
        if text == "latest" { return .latest }
        guard Timestamp.parse(text) != nil else {
            throw LifeboatError(
                .invalidInput, "--at \"\(text)\" is not a time",
                fix: "write an RFC 3339 time with its zone, e.g. 2026-11-22T10:15:00.250Z, or `latest`")
        }
        return .time(text)
    }

    /// For people: `2026-11-22T10:15:00.250Z`, `latest`, `restore point "x"`, `end of base backup`.
    public var summary: String {
        switch kind {
        case .time(let text): return text
        case .latest: return "end of archived WAL"
        case .name(let name): return "restore point \"\(name)\""
        case .immediate: return "end of the base backup"
        }
    }

    /// The settings appended to `postgresql.auto.conf`.
    func settings(executable: String, port: Int?, socketDirectory: String?) -> [(String, String)] {
        var keys = ""
        if let file = keyFiles.keyFile { keys += " --key-file \(Self.shellQuoted(FileIO.absolute(file)))" }
        if let file = keyFiles.privateKey { keys += " --private-key \(Self.shellQuoted(FileIO.absolute(file)))" }
        if prefetch != WALPrefetch.defaultCount { keys += " --prefetch \(prefetch)" }
        var settings: [(String, String)] = [
            ("restore_command", "\(Self.shellQuoted(executable)) wal fetch --repo \(Self.shellQuoted(repository))\(keys) %f \"%p\""),
            ("recovery_target_action", "promote"),
            ("recovery_target_timeline", "latest"),
        ]
        switch kind {
        case .time(let text):
            // recovery_target_time's check refuses the ISO 8601 "T…Z" form that casts accept.
            var pgText = text.replacingOccurrences(of: "T", with: " ")
            if pgText.hasSuffix("Z") || pgText.hasSuffix("z") { pgText = String(pgText.dropLast()) + "+00" }
            settings.append(("recovery_target_time", pgText))
            settings.append(("recovery_target_inclusive", "off"))
        case .latest: break
        case .name(let name): settings.append(("recovery_target_name", name))
        case .immediate: settings.append(("recovery_target", "immediate"))
        }
        if !keepArchiving { settings.append(("archive_mode", "off")) }
        if let port { settings.append(("port", String(port))) }
        if let socketDirectory { settings.append(("unix_socket_directories", socketDirectory)) }
        return settings
    }

    /// A path quoted for the shell PostgreSQL runs restore_command with.
    static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
