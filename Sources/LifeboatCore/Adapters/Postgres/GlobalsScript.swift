import Foundation

/// `pg_dumpall --globals-only` output as a logical restore into another cluster needs it: the
/// roles a dump's owners and grants name. Only what is missing is created; an existing role is
/// never altered or dropped (its attributes, password and memberships stay as they are).
///
/// The script is pg_dumpall's own: one statement per line (`CREATE ROLE x;`, `ALTER ROLE x WITH
/// … PASSWORD '…';`, `ALTER ROLE x SET …;`, `COMMENT ON ROLE x IS …;`, `GRANT a TO b GRANTED BY
/// c;`, `CREATE TABLESPACE …`), psql meta-commands (`\restrict` in 15.14+) and comments around.
struct GlobalsScript {
    struct Role {
        var name: String
        var statements: [String]
    }

    var roles: [Role] = []
    /// `GRANT role TO member`: (member, statement without GRANTED BY).
    var memberships: [(member: String, statement: String)] = []
    /// Tablespaces defined in the source cluster: (name, location).
    var tablespaces: [(name: String, location: String)] = []

    init(_ text: String) {
        var byName: [String: Int] = [:]
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard line.hasSuffix(";"), !line.hasPrefix("--"), !line.hasPrefix("\\") else { continue }
            if let rest = line.dropPrefix("CREATE ROLE "), let name = Self.identifier(rest) {
                byName[name.value] = roles.count
                roles.append(Role(name: name.value, statements: [line]))
            } else if let rest = line.dropPrefix("ALTER ROLE ") ?? line.dropPrefix("COMMENT ON ROLE "), let name = Self.identifier(rest),
                let index = byName[name.value]
            {
                roles[index].statements.append(line)
            } else if let rest = line.dropPrefix("GRANT "), let granted = Self.identifier(rest),
                let to = granted.rest.dropPrefix("TO "), let member = Self.identifier(to)
            {
                // Granted by whoever restores: the grantor may not exist in the target.
                let statement =
                    "GRANT \(PostgresConnection.quoteIdentifier(granted.value)) TO \(PostgresConnection.quoteIdentifier(member.value))"
                    + (member.rest.contains("WITH ADMIN OPTION") ? " WITH ADMIN OPTION" : "")
                memberships.append((member.value, statement))
            } else if let rest = line.dropPrefix("CREATE TABLESPACE "), let name = Self.identifier(rest),
                let location = name.rest.range(of: "LOCATION '")
            {
                let path = name.rest[location.upperBound...].prefix { $0 != "'" }
                tablespaces.append((name.value, String(path)))
            }
        }
    }

    /// Creates the roles `connection`'s cluster lacks, with their attributes, comments and
    /// settings, and the memberships of the roles created; returns their names.
    func createMissing(on connection: PostgresConnection) throws -> [String] {
        let missing = Set(try missingRoles(on: connection))
        var created: [String] = []
        do {
            for role in roles where missing.contains(role.name) {
                for statement in role.statements { try connection.query(statement) }
                created.append(role.name)
            }
            let new = Set(created)
            for membership in memberships where new.contains(membership.member) { try connection.query(membership.statement) }
        } catch {
            try? Self.drop(created, on: connection)
            throw error
        }
        return created
    }

    /// The roles it defines that `connection`'s cluster lacks, in script order.
    func missingRoles(on connection: PostgresConnection) throws -> [String] {
        let existing = Set(try connection.query("SELECT rolname FROM pg_roles").compactMap { $0[0] })
        return roles.map(\.name).filter { !existing.contains($0) }
    }

    /// Removes roles this restore created (a restore that failed afterwards).
    static func drop(_ roles: [String], on connection: PostgresConnection) throws {
        for role in roles.reversed() { try connection.query("DROP ROLE IF EXISTS \(PostgresConnection.quoteIdentifier(role))") }
    }

    /// A leading SQL identifier (bare, or double-quoted with `""` escapes) and what follows it.
    static func identifier(_ text: Substring) -> (value: String, rest: Substring)? {
        if text.first == "\"" {
            var value = ""
            var index = text.index(after: text.startIndex)
            while index < text.endIndex {
                let c = text[index]
                if c == "\"" {
                    let next = text.index(after: index)
                    if next < text.endIndex && text[next] == "\"" {
                        value.append("\"")
                        index = text.index(after: next)
                        continue
                    }
                    return (value, text[next...].drop { $0 == " " })
                }
                value.append(c)
                index = text.index(after: index)
            }
            return nil
        }
        let word = text.prefix { $0 != " " && $0 != ";" }
        guard !word.isEmpty else { return nil }
        return (word.lowercased() == String(word) ? String(word) : String(word).lowercased(), text[word.endIndex...].drop { $0 == " " })
    }
}

private extension String {
    func dropPrefix(_ prefix: String) -> Substring? { hasPrefix(prefix) ? self.dropFirst(prefix.count) : nil }
}

private extension Substring {
    func dropPrefix(_ prefix: String) -> Substring? { hasPrefix(prefix) ? self.dropFirst(prefix.count) : nil }
}
