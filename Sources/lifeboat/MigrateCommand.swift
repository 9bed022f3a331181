import ArgumentParser
import Foundation
import LifeboatCore

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Copy every snapshot into a format-2 (deduplicated) repository.",
        usage: "lifeboat migrate --from OLD --repo NEW [<options>]",
        discussion: """
            Create the target first: lifeboat init --repo NEW --format 2 [--encrypt …].
            Then: lifeboat migrate --from OLD --repo NEW. The source is only read.
            Restores from NEW give what OLD gave; run
            `lifeboat verify --repo NEW --deep` before retiring OLD. A killed migration
            is resumed by running it again. WAL and drill reports are copied as they
            are: encrypted repositories must use the same keys.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The repository to copy from (path or s3://BUCKET/PREFIX).")
    var from: String

    @Option(name: .long, help: "Key file of the source, when it is encrypted and --key-file is not also its key.")
    var fromKeyFile: String?

    @Option(name: .long, help: "Private key of the source, when it is a public-key repository.")
    var fromPrivateKey: String?

    func run() async throws {
        let target = try global.openRepository()
        let keys = global.keyFiles()
        let source = try Repository(
            opening: from, settings: global.storageSettings(),
            keyFiles: KeyFiles(keyFile: fromKeyFile ?? keys.keyFile, privateKey: fromPrivateKey ?? keys.privateKey))
        let report = try RepositoryLock.with(target, .shared, command: "lifeboat migrate --from \(from)") { lock in
            try Migration(source: source, target: target, progress: global.progress).run(under: lock)
        }
        if global.json {
            try Console.json(report)
        } else if !global.quiet {
            print(
                "migrated \(report.migrated.count) snapshot\(report.migrated.count == 1 ? "" : "s") (\(ProgressLine.bytes(report.bytes)) of streams, "
                    + "\(ProgressLine.bytes(report.storedBytes)) stored), skipped \(report.skipped.count) already there, copied \(report.objectsCopied) WAL/drill objects"
            )
        }
    }
}
