import Foundation
import LifeboatCore

/// Runs the real `lifeboat` binary, as an operator or cron would.
enum CLI {
    /// `$LIFEBOAT_BIN`, or the debug build next to these sources.
    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["LIFEBOAT_BIN"], !path.isEmpty { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/lifeboat").path
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var output: String { stdout + stderr }
        func json() throws -> Any { try JSONSerialization.jsonObject(with: Data(stdout.utf8)) }
    }

    /// Runs to completion and collects stdout and stderr.
    @discardableResult
    static func run(
        _ arguments: [String], environment: [String: String] = [:], in directory: String? = nil,
        prefix: [String] = []
    ) throws -> Result {
        let (process, out, err) = try start(arguments, environment: environment, in: directory, prefix: prefix)
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: read(out), stderr: read(err))
    }

    /// Starts without waiting; stdout and stderr go to temporary files.
    /// `prefix` runs the binary through another program (`runuser -u postgres --`).
    static func start(
        _ arguments: [String], environment: [String: String] = [:], in directory: String? = nil,
        prefix: [String] = []
    ) throws -> (Process, String, String) {
        let process = Process()
        let argv = prefix + [binary] + arguments
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "LIFEBOAT_REPO")
        env.removeValue(forKey: "LIFEBOAT_CRASH_AT")
        env.merge(environment) { _, new in new }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = NSTemporaryDirectory() + "lifeboat-out-\(UUID().uuidString)"
        let err = out + ".err"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        try process.run()
        return (process, out, err)
    }

    static func read(_ path: String) -> String {
        defer { try? FileManager.default.removeItem(atPath: path) }
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }
}
