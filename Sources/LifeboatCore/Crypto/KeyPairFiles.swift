import Foundation

/// `lifeboat keygen`: a new X25519 key pair as PEM files, the private one created 0600 and
/// never over an existing file.
public enum KeyPairFiles {
    public static func generate(stem: String) throws -> (publicPath: String, privatePath: String) {
        let pair = try X25519.generate()
        let publicPath = stem + ".pub"
        let privatePath = stem + ".key"
        for path in [publicPath, privatePath] where FileIO.exists(path) {
            throw LifeboatError(.invalidInput, "\(path) exists; nothing was written", fix: "choose another --out, or move the old key aside")
        }
        try write(try X25519.pem(pair.privateKey, privateKey: true), to: privatePath, mode: 0o600)
        try write(try X25519.pem(pair.publicKey, privateKey: false), to: publicPath, mode: 0o644)
        return (publicPath, privatePath)
    }

    private static func write(_ text: String, to path: String, mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw LifeboatError.system("cannot create", path: path) }
        defer { close(fd) }
        fchmod(fd, mode)
        try Array(text.utf8).withUnsafeBytes { try FileIO.writeAll(fd, $0, path: path) }
        try FileIO.sync(fd, path: path)
    }
}
