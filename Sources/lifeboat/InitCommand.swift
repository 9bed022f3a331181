import ArgumentParser
import Foundation
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
            --append-only (S3): backup hosts write with credentials that may not delete;
            forget and prune then need --admin-credentials. --host-principal ARN sets
            the bucket policy that makes those hosts' users append-only.
            --object-lock governance|compliance (S3, a new bucket): each snapshot's
            objects are locked until its retention would forget it, plus
            --lock-margin-days (docs/append-only.md).
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Encrypt the repository (with --key-file or --public-key).")
    var encrypt = false

    @Option(name: .long, help: "X25519 public key in PEM (NAME.pub from `lifeboat keygen`): write-only backups.")
    var publicKey: String?

    @Option(name: .long, help: "Repository format: 1 (a stored file per component) or 2 (deduplicated chunk store).")
    var format = RepositoryConfig.currentFormat

    @Flag(name: .long, help: "S3: the backup hosts may add but not delete; forget and prune need --admin-credentials.")
    var appendOnly = false

    @Option(
        name: .long,
        help: "With --append-only: the S3 user of a backup host (repeatable), e.g. arn:aws:iam:::user/backup-host; sets the bucket policy.")
    var hostPrincipal: [String] = []

    @Option(
        name: .long,
        help:
            "S3 Object Lock on a new bucket: governance or compliance; every snapshot's objects are locked until retention would forget it, plus --lock-margin."
    )
    var objectLock: String?

    @Option(name: .long, help: "With --object-lock: days added to each lock (default 7).")
    var lockMarginDays = 7

    @Option(name: .long, help: "With --object-lock: the longest lock set at once, in days (default 400).")
    var lockMaxDays = 400

    func run() async throws {
        var lock: ObjectLockConfig?
        if let objectLock {
            guard let mode = ObjectLockMode(rawValue: objectLock.lowercased()) else {
                throw LifeboatError(
                    .invalidInput, "--object-lock \(objectLock): unknown mode", fix: "use --object-lock governance or --object-lock compliance")
            }
            guard (0...3650).contains(lockMarginDays), (1...36500).contains(lockMaxDays), lockMarginDays < lockMaxDays else {
                throw LifeboatError(.invalidInput, "--lock-margin-days must be 0–3650 and less than --lock-max-days (1–36500)")
            }
            lock = ObjectLockConfig(mode: mode, marginDays: lockMarginDays, maxDays: lockMaxDays)
        }
        guard hostPrincipal.isEmpty || appendOnly else {
            throw LifeboatError(.invalidInput, "--host-principal is only meaningful with --append-only")
        }
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
        let storage = try StorageSettings.storage(for: try global.repositoryPath(), settings: global.storageSettings())
        let s3 = storage as? S3Storage
        if !hostPrincipal.isEmpty {
            // A policy the bucket already has is not ours to replace: refuse before creating anything.
            guard let s3 else { throw LifeboatError(.invalidInput, "--host-principal needs an S3 repository") }
            try s3.ensureBucket()
            if try s3.bucketPolicy() != nil {
                throw LifeboatError(
                    .invalidInput, "the bucket of \(s3.location) already has a policy; nothing was created",
                    fix: "merge the statements of `lifeboat init` without --host-principal (docs/append-only.md) into it yourself")
            }
        }
        let repository = try Repository.create(in: storage, encryption: encryption, format: format, appendOnly: appendOnly, objectLock: lock)
        if let s3, !hostPrincipal.isEmpty {
            try s3.putBucketPolicy(AppendOnlyBucketPolicy.document(for: s3, principals: hostPrincipal))
        }
        let config = repository.config
        if global.json {
            try Console.json([
                "repository": repository.location, "id": config.id, "created": config.created,
                "encryption": config.encryption?.mode.rawValue ?? "none", "format": String(config.format),
                "append_only": String(config.isAppendOnly), "object_lock": config.objectLock?.mode.rawValue ?? "none",
            ])
        } else if !global.quiet {
            let mode = config.encryption.map { " (encrypted: \($0.mode.rawValue))" } ?? ""
            let locked = config.objectLock.map { " (Object Lock: \($0.mode.rawValue), margin \($0.marginDays) d)" } ?? ""
            print("created repository \(config.id) at \(repository.location)\(mode)\(appendOnly ? " (append-only)" : "")\(locked)")
            if !hostPrincipal.isEmpty {
                print("bucket policy set: \(hostPrincipal.joined(separator: ", ")) may read and add, not delete")
            } else if appendOnly {
                Console.note(
                    "lifeboat: note: the backup hosts' S3 users must not be able to delete: set the bucket policy "
                        + "(`--host-principal ARN`, or docs/append-only.md)")
            }
        }
    }
}
