import ArgumentParser
import Foundation
import LifeboatCore

/// Tools for developers and benchmarks, not shown in `--help`.
struct DebugCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug", abstract: "Developer tools (benchmarks, format inspection).",
        shouldDisplay: false, subcommands: [Chunk.self, Upload.self, CLIReference.self, RenderReport.self, Parse.self])

    struct Upload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "upload",
            abstract: "Upload a file to S3 as packs are written; print time and connections.")

        @Argument(help: "The file to upload.")
        var file: String

        @Option(name: .long, help: "Where: s3://BUCKET/KEY (endpoint, keys and CA from the AWS environment).")
        var to: String

        func run() async throws {
            guard to.hasPrefix("s3://"), let slash = to.dropFirst(5).firstIndex(of: "/") else {
                throw LifeboatError(.invalidInput, "--to must be s3://BUCKET/KEY")
            }
            let storage = try S3Storage(url: String(to[..<slash]), settings: StorageSettings(), environment: ProcessInfo.processInfo.environment)
            try storage.ensureBucket()
            let key = String(to[to.index(after: slash)...])
            let started = Date()
            let writer = try storage.writer(key)
            let fd = open(file, O_RDONLY)
            guard fd >= 0 else { throw LifeboatError.system("cannot open", path: file) }
            defer { close(fd) }
            try FileIO.forEachChunk(fd, path: file) { try writer.write($0) }
            let digest = try writer.commit()
            let seconds = Date().timeIntervalSince(started)
            print(
                String(
                    format: "{\"bytes\": %lld, \"seconds\": %.3f, \"connections\": %d, \"uploads_in_flight\": %d}",
                    digest.bytes, seconds, storage.connectionsOpened, storage.uploadsInFlight))
        }
    }

    struct Chunk: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "chunk", abstract: "Cut a file with the FastCDC chunker; print chunk sizes and speed.")

        @Argument(help: "The file (read into memory first; only chunking is timed).")
        var file: String

        @Flag(name: .long, help: "Print one JSON document on stdout instead of text.")
        var json = false

        func run() async throws {
            let stats = try ChunkStatistics.measure(path: file)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(stats), as: UTF8.self))
            } else {
                print(
                    String(
                        format: "%d chunks, average %.0f KiB (smallest %d, largest %d bytes); %.3f s, %.0f MB/s",
                        stats.chunks, stats.average / 1024, stats.smallest, stats.largest, stats.seconds, stats.bytesPerSecond / 1e6))
            }
        }
    }

    struct RenderReport: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "render-report",
            abstract: "Render a drill report's JSON again as Markdown and HTML (beside it), with this build's renderer.")

        @Argument(help: "The report's JSON file.")
        var report: String

        func run() async throws {
            let decoded = try DrillReport.verify(file: report)
            let stem = report.hasSuffix(".json") ? String(report.dropLast(5)) : report
            try FileIO.writeAtomically(Array(DrillReportRenderer.markdown(decoded).utf8), to: stem + ".md")
            try FileIO.writeAtomically(Array(DrillReportRenderer.html(decoded).utf8), to: stem + ".html")
            print(stem + ".md")
            print(stem + ".html")
        }
    }

    struct Parse: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "parse",
            abstract: "Show how `HotEntry` and ArgumentParser each read a command line (`debug parse -- wal push …`, `wal fetch …`).")

        @Argument(parsing: .captureForPassthrough, help: "The command line, without the program.")
        var arguments: [String] = []

        struct Readings: Encodable {
            /// HotEntry's reading; null when it leaves the line to ArgumentParser.
            var hot: HotEntry.Command?
            /// ArgumentParser's; null when it refuses the line or it is not `wal push` or `wal fetch`.
            var full: HotEntry.Command?
            var error: String?
        }

        func run() async throws {
            let line = arguments.first == "--" ? Array(arguments.dropFirst()) : arguments
            var readings = Readings(hot: HotEntry.command(line))
            do {
                let command = try Lifeboat.parseAsRoot(line)
                readings.full = (command as? WalPushCommand).map { .push($0.push) } ?? (command as? WalFetchCommand).map { .fetch($0.fetch) }
            } catch {
                readings.error = Lifeboat.fullMessage(for: error)
            }
            try Console.json(readings)
        }
    }
}
