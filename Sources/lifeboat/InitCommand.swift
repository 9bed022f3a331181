import ArgumentParser
import LifeboatCore

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create a repository (a directory, or s3://BUCKET/PREFIX).",
        usage: "lifeboat init --repo DIR|s3://BUCKET/PREFIX [--format 1|2] [<options>]",
        discussion: """
            --encrypt --key-file F: every stored object is encrypted (AES-256-GCM)
            under the 32-byte key in F.
            --encrypt --public-key PUB: backups encrypt to an X25519 public key (from
            `lifeboat keygen`); only the private key can restore or deep-verify, so a
            compromised backup host cannot read any backup.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Encrypt the repository (with --key-file or --public-key).")
    var encrypt = false

    @Option(name: .long, help: "X25519 public key in PEM (NAME.pub from `lifeboat keygen`): write-only backups.")
    var publicKey: String?

    @Option(name: .long, help: "Repository format: 1 (a stored file per component) or 2 (deduplicated chunk store).")
    var format = RepositoryConfig.currentFormat

    func run() async throws {
        var encryption: EncryptionSetup?
        if encrypt {
            switch (global.keyFile, publicKey) {
            case (let keyFile?, nil): encryption = .symmetric(keyFile: keyFile)
            case (nil, let publicKey?): encryption = .publicKey(file: publicKey)
            default:
                throw LifeboatError(
                    .invalidInput, "--encrypt needs exactly one of --key-file FILE and --public-key PUB",
                    fix: "symmetric: head -c 32 /dev/urandom > repo.key && chmod 600 repo.key; write-only: lifeboat keygen --out NAME")
            }
        } else if publicKey != nil {
            throw LifeboatError(.invalidInput, "--public-key is only meaningful with --encrypt")
        }
        let repository = try Repository.create(
            at: try global.repositoryPath(), settings: global.storageSettings(), encryption: encryption, format: format)
        let config = repository.config
        if global.json {
            try Console.json([
                "repository": repository.location, "id": config.id, "created": config.created,
                "encryption": config.encryption?.mode.rawValue ?? "none", "format": String(config.format),
            ])
        } else if !global.quiet {
            let mode = config.encryption.map { " (encrypted: \($0.mode.rawValue))" } ?? ""
            print("created repository \(config.id) at \(repository.location)\(mode)")
        }
    }
}
