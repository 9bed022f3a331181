import ArgumentParser
import LifeboatCore

struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one snapshot's manifest.", usage: "lifeboat show <snapshot> [--entries] [<options>]")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Snapshot name, id prefix or `latest`.")
    var snapshot: String

    @Flag(name: .long, help: "List every entry.")
    var entries = false

    func run() async throws {
        let repository = try global.openRepository()
        let manifest = try repository.manifest(named: snapshot)
        if global.json {
            try Console.json(manifest)
            return
        }
        print("snapshot  \(manifest.name)")
        print("id        \(manifest.id)")
        print("schedule  \(manifest.schedule)")
        print("started   \(manifest.started)")
        print("finished  \(manifest.finished)")
        print("recovery  \(manifest.recoveryPoint)")
        print("host      \(manifest.host)")
        for c in manifest.components {
            print(
                "component \(c.source) (\(c.type)): \(c.entryCount) entries, \(ProgressLine.bytes(c.contentBytes)) → \(ProgressLine.bytes(c.bytes)) \(c.compression), sha256 \(c.sha256)"
            )
            for warning in c.warnings { print("  warning: \(warning)") }
            if entries {
                for e in c.entries {
                    let detail =
                        switch e.kind {
                        case .symlink: "-> \(e.target ?? "")"
                        case .hardlink: "=> \(e.target ?? "") (hard link)"
                        case .file: "\(e.size) \(e.sha256 ?? "")" + (e.sparse == true ? " sparse" : "")
                        case .directory: ""
                        }
                    print("  \(e.kind.rawValue.padded(9)) \(String(e.mode, radix: 8).padded(5)) \(e.path) \(detail)")
                }
            }
        }
    }
}
