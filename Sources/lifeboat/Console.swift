import Foundation
import LifeboatCore

/// Where the CLI writes: results on stdout, messages on stderr.
enum Console {
    /// Prints `value` as one pretty, key-sorted JSON document on stdout.
    static func json<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        FileHandle.standardOutput.write(try encoder.encode(value))
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    /// A line on stderr.
    static func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Reports a failure on stderr; with --json also as `{"error": …}` on stdout.
    static func report(_ error: LifeboatError) {
        note("lifeboat: error: \(error)")
        if CommandLine.arguments.contains("--json") {
            struct Body: Encodable {
                var code: String
                var exit_code: Int32
                var message: String
                var fix: String?
                var location: String?
            }
            try? json([
                "error": Body(
                    code: error.code.description, exit_code: error.code.exitCode, message: error.message,
                    fix: error.fix, location: error.location?.description)
            ])
        }
    }
}
