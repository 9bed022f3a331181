import ArgumentParser
import Foundation
import LifeboatCore

struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff", abstract: "Show what changed between two snapshots, entry by entry.",
        usage: "lifeboat diff <from> <to> [--source N] [<options>]",
        discussion: """
            + added, - removed, M content changed (SHA-256, size or link target),
            T type changed, U metadata only (mode or time). Compared by the entries the
            manifests vouch for; nothing is read but manifests and entry lists.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The older snapshot (name, id prefix or `latest`).")
    var from: String

    @Argument(help: "The newer snapshot.")
    var to: String

    @Option(name: .long, help: "Only this source.")
    var source: String?

    func run() async throws {
        let repository = try global.openRepository()
        let diff = try await RepositoryLock.reading(repository, command: "lifeboat diff", warn: global.warn) {
            let catalog = repository.catalog()
            let old = try repository.manifest(named: from, source: source, in: catalog)
            let new = try repository.manifest(named: to, source: source, in: catalog)
            _ = try old.components(for: source)
            _ = try new.components(for: source)
            return SnapshotDiff(from: old, to: new, source: source)
        }
        if global.json {
            try Console.json(diff)
            return
        }
        let prefix = diff.sources.count > 1
        for name in diff.sourcesAdded { print("+ \(name)/ (source added)") }
        for name in diff.sourcesRemoved { print("- \(name)/ (source removed)") }
        for s in diff.sources {
            let lead = prefix ? "\(s.source): " : ""
            var lines: [(String, String)] = []
            lines += s.added.map { ("+", $0) }
            lines += s.removed.map { ("-", $0) }
            lines += s.modified.map { ("M", $0) }
            lines += s.typeChanged.map { ("T", $0) }
            lines += s.metadataChanged.map { ("U", $0) }
            for (mark, path) in lines.sorted(by: { $0.1 < $1.1 }) { print("\(mark) \(lead)\(path)") }
        }
        if !global.quiet {
            let total = diff.sources.reduce((0, 0, 0, 0)) { t, s in
                (t.0 + s.added.count, t.1 + s.removed.count, t.2 + s.modified.count + s.typeChanged.count, t.3 + s.metadataChanged.count)
            }
            Console.note(
                "\(diff.from) → \(diff.to): \(total.0) added, \(total.1) removed, \(total.2) changed, \(total.3) metadata only")
        }
    }
}
