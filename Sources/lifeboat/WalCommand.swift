import ArgumentParser
import Foundation
import LifeboatCore

/// `lifeboat wal push|fetch|list`: PostgreSQL's archive_command and restore_command.
struct WalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wal", abstract: "PostgreSQL WAL archive: archive_command (push) and restore_command (fetch).",
        subcommands: [
            WalPushCommand.self, WalFetchCommand.self, WalListCommand.self, WalStatusCommand.self, WalPusherCommand.self,
            WalPrefetchCommand.self,
        ])
}

struct WalFetchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Restore one WAL file (PostgreSQL's restore_command).", usage: "lifeboat wal fetch --repo REPO <name> <destination> [<options>]",
        discussion: """
            restore_command = 'lifeboat wal fetch --repo REPO %f "%p"'
            Exits 1 when the file is not archived (PostgreSQL probes for files that may
            not exist), 3 when the archived copy is damaged. Segments are prefetched: a
            detached `wal prefetch` keeps up to --prefetch segments downloaded and proven
            in pg_wal/lifeboat-prefetch, which later fetches only rename into place.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Segments to keep downloaded ahead of recovery (default 8, at most 64; 0: none).")
    var prefetch = WALPrefetch.defaultCount

    @Argument(help: "The WAL file name (%f).")
    var name: String

    @Argument(help: "Where to write it (%p).")
    var destination: String

    /// The values parsed.
    var fetch: WalFetch { WalFetch(global: global.values, prefetch: prefetch, name: name, destination: destination) }

    func validate() throws {
        if let invalidity = fetch.invalidity { throw ValidationError(invalidity) }
    }

    func run() async throws {
        try fetch.run()
    }
}

/// `lifeboat wal prefetch`: what `wal fetch` starts in the background to fill its queue.
struct WalPrefetchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prefetch", abstract: "Download the segments after one into a restore_command queue (started by wal fetch).",
        usage: "lifeboat wal prefetch --repo REPO --queue DIR [--count N] <name>", shouldDisplay: false)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The queue directory (pg_wal/lifeboat-prefetch).")
    var queue: String

    @Option(name: .long, help: "How many segments to keep queued.")
    var count = WALPrefetch.defaultCount

    @Argument(help: "The segment recovery has reached.")
    var name: String

    func run() async throws {
        let repository = try global.openRepository()
        let downloaded = try WALPrefetch(queue: queue, count: count).fill(from: WALArchive(repository: repository), after: name)
        if global.verbose { print("prefetched \(downloaded) segment\(downloaded == 1 ? "" : "s") after \(name)") }
    }
}

struct WalListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the archived WAL files.", usage: "lifeboat wal list [--repo REPO] [<options>]")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let repository = try global.openRepository()
        let archive = WALArchive(repository: repository)
        let files = try archive.all()
        if global.json {
            struct File: Encodable {
                var name: String
                var sha256: String
                var stored_bytes: Int64
            }
            struct Listing: Encodable {
                var system_identifier: String?
                var files: [File]
            }
            try Console.json(
                Listing(
                    system_identifier: try archive.systemIdentifier(),
                    files: files.map { File(name: $0.name, sha256: $0.sha256, stored_bytes: $0.storedBytes) }))
        } else {
            for file in files { print("\(file.name)  \(ProgressLine.bytes(file.storedBytes))") }
            if !global.quiet {
                print("\(files.count) file\(files.count == 1 ? "" : "s"), \(ProgressLine.bytes(files.reduce(0) { $0 + $1.storedBytes }))")
            }
        }
    }
}
