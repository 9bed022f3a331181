import ArgumentParser
import Foundation
import LifeboatCore

/// Tools for developers and benchmarks, not shown in `--help`.
struct DebugCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug", abstract: "Developer tools (benchmarks, format inspection).",
        shouldDisplay: false, subcommands: [Chunk.self])

    struct Chunk: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "chunk", abstract: "Cut a file with the repository's FastCDC chunker; print the sizes and the chunker's speed.")

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
                print(String(format: "%d chunks, average %.0f KiB (smallest %d, largest %d bytes); %.3f s, %.0f MB/s",
                             stats.chunks, stats.average / 1024, stats.smallest, stats.largest, stats.seconds, stats.bytesPerSecond / 1e6))
            }
        }
    }
}
