import Foundation

/// Files holding secrets (key files, private keys, password files): read only when nobody but
/// their owner can read them, as libpq does for `.pgpass` and ssh for its keys.
enum SecretFile {
    /// The bytes of `path`; `.invalidInput` with the `chmod` to run when group or others may read
    /// it, or when it cannot be read.
    static func read(_ path: String, what: String) throws -> [UInt8] {
        var st = stat()
        guard stat(path, &st) == 0 else {
            let reason = String(cString: strerror(errno))
            throw LifeboatError(.invalidInput, "cannot read \(what) \(path): \(reason)", fix: "check the path and its permissions")
        }
        guard st.st_mode & 0o077 == 0 else {
            throw LifeboatError(
                .invalidInput, "\(what) \(path) is readable by others (mode \(String(st.st_mode & 0o777, radix: 8)))",
                fix: "chmod 600 \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LifeboatError(.invalidInput, "cannot read \(what) \(path)", fix: "check the path and its permissions")
        }
        return Array(data)
    }

    /// The first line of a password file.
    static func password(_ path: String, what: String = "password_file") throws -> String {
        let text = String(decoding: try read(path, what: what), as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
    }
}
