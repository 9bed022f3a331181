import ArgumentParser
import Foundation
import LifeboatCore

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Prove snapshots against their manifests; exit 3 on any integrity failure.",
        usage: "lifeboat verify [<snapshot> ...] [--deep] [--read-data-subset N/M]")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Snapshots to verify (name, id prefix or `latest`); all when none.")
    var snapshots: [String] = []

    @Flag(name: .long, help: "Also decompress, walk every entry and run format checks.")
    var deep = false

    @Option(
        name: .customLong("read-data-subset"),
        help: ArgumentHelp(
            "Format 2: also read the packs of subset N of M and prove every chunk in them that a verified snapshot needs.",
            discussion: "Running 1/M to M/M, one a day, reads every pack once.", valueName: "N/M"))
    var readDataSubset: String?

    @Option(name: .customLong("metrics-file"), help: "Write Prometheus textfile metrics (success, problems, when) here.")
    var metricsFile: String?

    func run() async throws {
        let subset = try readDataSubset.map { try DataSubset(parsing: $0) }
        let repository = try global.openRepository()
        let report = try await RepositoryLock.reading(repository, command: "lifeboat verify", warn: global.warn) {
            try Verifier(repository: repository, progress: global.progress).run(selectors: snapshots, deep: deep, subset: subset)
        }
        if let metricsFile {
            try PrometheusMetrics.write(
                PrometheusMetrics.verify(problems: report.problems.count, snapshots: report.snapshots.count, deep: deep, now: Date()), to: metricsFile
            )
        }
        if global.json {
            try Console.json(report)
        } else {
            for problem in report.problems {
                Console.note("FAIL \(problem.message)")
            }
            if !report.garbage.isEmpty && !global.quiet {
                let why =
                    report.writerActive.map { "a writer is active (\($0)); these may be its in-flight files" }
                    ?? "left by interrupted runs; not corruption, the next backup clears tmp/"
                Console.note("garbage (\(why)):")
                for path in report.garbage { Console.note("  \(path)") }
            }
            for warning in report.warnings { Console.note("warning: \(warning)") }
            if !global.quiet {
                let bytes = report.snapshots.reduce(0) { $0 + $1.bytes }
                let kind = deep ? "deep-verified" : "verified"
                let verdict = report.ok ? "ok" : "\(report.problems.count) problem\(report.problems.count == 1 ? "" : "s")"
                print(
                    "\(kind) \(report.snapshots.count) snapshot\(report.snapshots.count == 1 ? "" : "s") (\(ProgressLine.bytes(bytes)) stored): \(verdict)"
                )
                if let read = report.dataSubset {
                    print(
                        "data subset \(read.subset): read \(read.packs) of \(read.packsInRepository) packs (\(ProgressLine.bytes(read.storedBytes))), \(read.chunks) chunks proved"
                    )
                }
                if let checked = report.locksChecked {
                    print("object locks: \(checked) object\(checked == 1 ? "" : "s") checked against their snapshots' dates")
                }
                if let wal = report.wal {
                    print(
                        "WAL archive: \(wal.files) files, \(ProgressLine.bytes(wal.storedBytes))"
                            + (deep ? ", \(wal.checked) decompressed and checked" : "")
                            + (wal.gaps.isEmpty ? ", no gaps" : ", \(wal.gaps.count) gap\(wal.gaps.count == 1 ? "" : "s")"))
                }
            }
        }
        if !report.ok {
            throw ExitCode(LifeboatError.Code.integrity.exitCode)
        }
    }
}
