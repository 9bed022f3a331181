import LifeboatCore

/// `--host NAME` (backup, run): the host a snapshot is of when several share a repository.
enum HostName {
    static func validated(_ text: String) throws -> String {
        guard !text.isEmpty, !text.contains(where: { $0.isWhitespace || $0.isNewline || $0 == "/" }) else {
            throw LifeboatError(
                .invalidInput, "--host \"\(text)\" is not a host name", fix: "give a name without spaces or slashes, e.g. --host web-1")
        }
        return text
    }
}
