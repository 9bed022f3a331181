import ArgumentParser
import Foundation
import LifeboatCore

struct KeygenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen", abstract: "Make an X25519 key pair for write-only (public-key) repositories.",
        discussion: """
            Writes NAME.pub (give it to `lifeboat init --encrypt --public-key`; it may
            sit on the backup host) and NAME.key (mode 0600; keep it off the backup
            host: restore and deep verify need it). Both are PEM, as
            `openssl genpkey -algorithm X25519` writes them.
            """)

    @Option(name: .long, help: "Path stem: writes STEM.pub and STEM.key.")
    var out: String

    @Flag(name: .long, help: "Print one JSON document on stdout instead of text.")
    var json = false

    func run() async throws {
        let pair = try KeyPairFiles.generate(stem: out)
        if json {
            try Console.json(["public_key": pair.publicPath, "private_key": pair.privatePath])
        } else {
            print("wrote \(pair.publicPath) (public) and \(pair.privatePath) (private, 0600: keep it off the backup host)")
        }
    }
}
