import ArgumentParser
import LifeboatCore

struct SnapshotsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshots", abstract: "List snapshots, oldest first.",
        usage: "lifeboat snapshots [--source N] [--host H] [--tag T ...] [<options>]")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Only snapshots with this source.")
    var source: String?

    @Option(name: .long, help: "Only snapshots of this host (`backup --host`).")
    var host: String?

    @Option(name: .long, help: "Only snapshots with this tag (`backup --tag`; repeatable: any of them).")
    var tag: [String] = []

    func run() async throws {
        let repository = try global.openRepository()
        let (snapshots, problems) = repository.loadSnapshots()
        let shown = snapshots.filter { m in
            (source.map { m.component($0) != nil } ?? true) && (host.map { m.host == $0 } ?? true)
                && (tag.isEmpty || tag.contains { (m.tags ?? []).contains($0) })
        }
        for problem in problems where !global.quiet {
            Console.note("lifeboat: warning: \(problem.message) (run `lifeboat verify`)")
        }
        if global.json {
            try Console.json(shown.map(SnapshotSummary.init))
            return
        }
        print("ID        NAME                                TIME                  HOST             SOURCES               STORED     TAGS")
        for m in shown {
            let sources = m.components.map(\.source).joined(separator: ",")
            let stored = ProgressLine.bytes(m.components.reduce(0) { $0 + $1.bytes })
            print(
                [
                    String(m.id.prefix(8)).padded(9), m.name.padded(35), String(m.started.prefix(19)).padded(21),
                    m.host.padded(16), sources.padded(21), stored.padded(10), (m.tags ?? []).joined(separator: ","),
                ].joined(separator: " "))
        }
        if !global.quiet { print("\(shown.count) snapshot\(shown.count == 1 ? "" : "s")") }
    }
}

extension String {
    func padded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
