import ArgumentParser
import LifeboatCore

struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Remove data no snapshot references; repack partly used packs.",
        usage: "lifeboat prune [--dry-run] [--all] [--max-unused P] [<options>]",
        discussion:
            "Removes what forgotten snapshots and interrupted runs left, and (format 2)\nrepacks packs that are more than --max-unused unused. In an S3 Object Lock\nrepository it removes an object, every version of it, only once no lock holds\nit, repacks nothing, and says what it keeps and until when (held in --json)."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Show what would be removed and repacked; change nothing.")
    var dryRun = false

    @OptionGroup var clock: ClockOptions

    @OptionGroup var admin: AdminCredentialsOption

    @Flag(name: .long, help: "Allow removing all data when no snapshot is left.")
    var all = false

    @Option(name: .long, help: "Format 2: repack packs more than this share unused, e.g. 5% (default), 0% (any unused byte), 100% (never).")
    var maxUnused = "5%"

    @Option(name: .long, help: "Format 2: repack at most this much of packs in one run, e.g. 500M or 2G (default: no limit).")
    var maxRepackSize: String?

    func run() async throws {
        let repository = try admin.openRepository(global)
        if !dryRun { try repository.requireDeletion(by: "lifeboat prune") }
        let clock = try self.clock.guardAt()
        var pruner = Pruner(repository: repository)
        pruner.maxUnused = try Self.share(maxUnused)
        pruner.maxRepackBytes = try maxRepackSize.map(Self.size)
        pruner.progress = global.progress
        let report = try RepositoryLock.with(repository, .exclusive, command: "lifeboat prune") { _ in
            try pruner.run(dryRun: dryRun, clock: clock, all: all)
        }
        if global.json {
            try Console.json(report)
        } else if !global.quiet {
            for path in report.removed where global.verbose || dryRun { print("  \(path)") }
            let repacked =
                report.repacked.isEmpty
                ? ""
                : ", \(dryRun ? "would repack" : "repacked") \(report.repacked.count) pack\(report.repacked.count == 1 ? "" : "s") (\(ProgressLine.bytes(report.repackedBytes)) copied)"
            print(
                "\(dryRun ? "would remove" : "removed") \(report.removed.count) item\(report.removed.count == 1 ? "" : "s")\(repacked), "
                    + "\(dryRun ? "would free" : "freed") \(ProgressLine.bytes(report.bytes))")
            if let note = report.heldNote {
                for item in report.held ?? [] where global.verbose || dryRun { print("  \(item.key) (locked until \(item.until))") }
                print(note)
            }
        }
    }

    /// `5%` or `5` → 0.05.
    static func share(_ text: String) throws -> Double {
        let number = text.hasSuffix("%") ? String(text.dropLast()) : text
        guard let value = Double(number), value >= 0, value <= 100 else {
            throw LifeboatError(.invalidInput, "--max-unused \(text) is not a share", fix: "give a percentage from 0% to 100%, e.g. --max-unused 5%")
        }
        return value / 100
    }

    /// `2G`, `500M`, `64K`, `1000` (bytes) → bytes.
    static func size(_ text: String) throws -> Int64 {
        let units: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var digits = text.uppercased()
        if digits.hasSuffix("IB") { digits.removeLast(2) } else if digits.hasSuffix("B") { digits.removeLast() }
        let unit = digits.last.flatMap { units[$0] } ?? 1
        if unit > 1 { digits.removeLast() }
        guard let value = Double(digits), value >= 0 else {
            throw LifeboatError(.invalidInput, "--max-repack-size \(text) is not a size", fix: "write e.g. 500M, 2G or 1T")
        }
        return Int64(value * Double(unit))
    }
}
