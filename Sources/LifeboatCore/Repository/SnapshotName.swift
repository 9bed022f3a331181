import Foundation

/// Names and tags an operator gives snapshots (`backup --name pre-migration-20261202 --tag
/// pre-migration`): letters, digits, `.`, `-`, `_`, starting with a letter or digit. A name
/// must not read as something else on the command line: not `latest`, and not 4 or more hex
/// digits alone (an id prefix).
public enum SnapshotName {
    public static func validated(name: String) throws -> String {
        try check(name, what: "snapshot name", limit: 100)
        if name == "latest" {
            throw LifeboatError(.invalidInput, "\"latest\" cannot be a snapshot's name: it means the newest snapshot", fix: "choose another name")
        }
        if name.count >= 4, name.allSatisfy(\.isHexDigit) {
            throw LifeboatError(
                .invalidInput, "snapshot name \"\(name)\" reads as an id prefix",
                fix: "add a letter or a dash, e.g. \"release-\(name)\"")
        }
        return name
    }

    public static func validated(tag: String) throws -> String {
        try check(tag, what: "tag", limit: 64)
        return tag
    }

    private static func check(_ text: String, what: String, limit: Int) throws {
        let allowed = text.unicodeScalars.allSatisfy {
            ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || "._-".unicodeScalars.contains($0)
        }
        guard !text.isEmpty, text.count <= limit, allowed, let first = text.unicodeScalars.first, !"._-".unicodeScalars.contains(first) else {
            throw LifeboatError(
                .invalidInput, "\(what) \"\(text)\" is not allowed",
                fix: "use 1–\(limit) letters, digits, '.', '-' and '_', starting with a letter or digit")
        }
    }

    static func taken(_ name: String) -> LifeboatError {
        LifeboatError(
            .invalidInput, "a snapshot is already named \"\(name)\"",
            fix: "choose another --name (names are unique in a repository), or `lifeboat forget \(name)` first")
    }
}
