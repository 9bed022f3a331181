import ArgumentParser
import Foundation
import LifeboatCore

struct LsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List the entries of a snapshot, or of one directory in it.",
        usage: "lifeboat ls <snapshot> [<path>] [--source N] [-l] [<options>]",
        discussion: """
            Lists PATH and everything below it (the whole snapshot without PATH), in stream
            order. -l adds type and permissions, size and modification time (UTC).
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Snapshot name, id prefix or `latest`.")
    var snapshot: String

    @Argument(help: "A path inside the component (default: all of it).")
    var path: String?

    @Option(name: .long, help: "Only this source's entries.")
    var source: String?

    @Flag(name: .customShort("l"), help: "Long format: type, permissions, size, time.")
    var long = false

    func run() async throws {
        let repository = try global.openRepository()
        let within = EntryPath(path ?? "")
        let listed = try await RepositoryLock.reading(repository, command: "lifeboat ls", warn: global.warn) {
            let manifest = try repository.manifest(named: snapshot, source: source)
            let entries = try manifest.components(for: source).map { ($0.source, within.entries(of: $0)) }
            if !within.isWhole && entries.allSatisfy({ $0.1.isEmpty }) {
                throw LifeboatError(
                    .invalidInput, "snapshot \(manifest.name) has no entry \"\(path ?? "")\"",
                    fix: "`lifeboat ls \(manifest.name)` lists every entry")
            }
            return entries
        }
        if global.json {
            try Console.json(listed.flatMap { source, entries in entries.map { ListedEntry($0, source: source) } })
            return
        }
        for (source, entries) in listed {
            if listed.count > 1 { print("\(source):") }
            for entry in entries {
                let shown = ListedEntry(entry, source: source)
                print((listed.count > 1 ? "  " : "") + (long ? shown.longLine : shown.path))
            }
        }
    }
}
