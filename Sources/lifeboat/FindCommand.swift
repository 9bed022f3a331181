import ArgumentParser
import Foundation
import LifeboatCore

struct FindCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "find", abstract: "Find entries by name across snapshots.",
        usage: "lifeboat find <pattern> ... [--source N] [--host H] [--snapshot S ...]",
        discussion: """
            A pattern is a glob (fnmatch) matched on an entry's path and on its base name:
            `app.yaml`, `*.env`, `etc/app/*`. Snapshots are searched oldest first.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Globs to look for (any of them).")
    var patterns: [String]

    @Option(name: .long, help: "Only this source's entries.")
    var source: String?

    @Option(name: .long, help: "Only snapshots of this host.")
    var host: String?

    @Option(name: .long, help: "Only these snapshots (names, id prefixes or `latest`; repeatable).")
    var snapshot: [String] = []

    func validate() throws {
        if patterns.isEmpty { throw ValidationError("give at least one pattern, e.g. lifeboat find app.yaml") }
    }

    func run() async throws {
        let repository = try global.openRepository()
        let found = try await RepositoryLock.reading(repository, command: "lifeboat find", warn: global.warn) {
            let catalog = repository.catalog()
            var snapshots = catalog.snapshots.filter { m in
                (source.map { m.component($0) != nil } ?? true) && (host.map { m.host == $0 } ?? true)
            }
            if !snapshot.isEmpty {
                let chosen = Set(try snapshot.map { try SnapshotSelector($0).resolve(in: catalog, source: source).id })
                snapshots = snapshots.filter { chosen.contains($0.id) }
            }
            return try EntryFinder(repository: repository, patterns: patterns).find(in: snapshots, source: source, progress: global.progress)
        }
        if global.json {
            try Console.json(found)
            return
        }
        var last: String?
        for entry in found {
            if entry.snapshot != last {
                print("\(entry.snapshot ?? ""):")
                last = entry.snapshot
            }
            print("  \(entry.source): \(entry.longLine)")
        }
        if found.isEmpty && !global.quiet { Console.note("lifeboat: no entry matches \(patterns.joined(separator: " "))") }
    }
}
