import ArgumentParser
import Foundation
import LifeboatCore

struct DumpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump", abstract: "Write one file of a snapshot, or a tar of it, to stdout.",
        usage: "lifeboat dump <snapshot> [<path>] [--source N] [<options>]",
        discussion: """
            A file PATH: its content, written only once it is proven against the snapshot.
            A directory PATH, or none: a pax tar of it (the whole component), whose
            end-of-archive is written only once everything is proven, so a damaged
            snapshot gives a truncated archive and exit 3.
              lifeboat dump daily-20261121T020000Z etc/app/app.yaml --source cfg > app.yaml
              lifeboat dump latest --source cfg | tar -t
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Snapshot name, id prefix or `latest`.")
    var snapshot: String

    @Argument(help: "A file or directory inside the component (default: all of it, as a tar).")
    var path: String?

    @Option(name: .long, help: "The source (optional when the snapshot has one).")
    var source: String?

    func run() async throws {
        let repository = try global.openRepository()
        let within = EntryPath(path ?? "")
        try await RepositoryLock.reading(repository, command: "lifeboat dump", warn: global.warn) {
            let manifest = try repository.manifest(named: snapshot, source: source)
            let components = try manifest.components(for: source)
            guard components.count == 1, let component = components.first else {
                throw LifeboatError(
                    .invalidInput, "snapshot \(manifest.name) has several sources",
                    fix: "name one with --source: \(manifest.components.map(\.source).joined(separator: ", "))")
            }
            let dump = ComponentDump(repository: repository, manifest: manifest, component: component)
            let entry = within.isWhole ? nil : dump.entry(within)
            if let entry, entry.kind == .file || entry.kind == .hardlink {
                _ = try dump.writeFile(within, to: STDOUT_FILENO)
                return
            }
            guard isatty(STDOUT_FILENO) == 0 else {
                throw LifeboatError(
                    .invalidInput, "refusing to write a tar archive to a terminal",
                    fix: "redirect it: `lifeboat dump \(snapshot) \(path ?? "") --source \(component.source) > out.tar`, or pipe it to `tar -t`")
            }
            _ = try dump.writeTar(within, to: STDOUT_FILENO)
        }
    }
}
