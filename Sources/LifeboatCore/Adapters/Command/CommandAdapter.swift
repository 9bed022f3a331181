import Foundation

/// Source type `command`: whatever a program writes to stdout, for stores Lifeboat has no
/// adapter for (DragonflyDB, an Oracle export, `app dump-data`).
///
/// Policy keys: `capture` (argv list, required), `restore` (argv list: fed the stream on stdin),
/// `check` (argv list: must exit 0 after a restore), `pre` and `post` (argv lists around the
/// capture: a failing `pre` aborts, `post` always runs), `timeout` (each program's deadline,
/// default 1h; past it the program's whole process group is killed), `env_file` (KEY=VALUE lines
/// given to every program's environment, never to argv or the manifest), `shell: true` (then
/// each of them is one string run by `/bin/sh -c`).
///
/// Capture spools the child's stdout to the repository's scratch directory (its length goes
/// into the archive header) and stores it as entry `stdout`. The backup fails, with no snapshot,
/// when the child exits non-zero, is killed, or runs past its timeout; the tail of its stderr
/// goes into the error. The manifest records the programs' argv (policy text, not secrets), the
/// env_file's path and the byte count, so a restore needs no policy.
public struct CommandAdapter: SourceAdapter {
    public static let type = "command"
    public static let settingKeys = ["capture", "restore", "check", "pre", "post", "timeout", "env_file", "shell"]

    public let name: String
    public var capture: [String] = []
    public var restore: [String]?
    public var check: [String]?
    public var pre: [String]?
    public var post: [String]?
    public var timeout: TimeInterval = 3600
    public var envFile: String?
    public var shell = false

    public init(name: String) {
        self.name = name
    }

    public static func configure(name: String, settings: PolicyNode) throws -> CommandAdapter {
        var adapter = CommandAdapter(name: name)
        let entries = try settings.mapping()
        adapter.shell = try entries.first { $0.0 == "shell" }?.1.bool() ?? false
        func program(_ value: PolicyNode, _ key: String) throws -> [String] {
            if adapter.shell {
                guard let text = try? value.string() else {
                    throw value.error("with shell: true, \(key) is one command line (a string)", fix: "write e.g. \(key): \"pg_dumpall | gzip\"")
                }
                return [text]
            }
            guard let items = try? value.sequence(), !items.isEmpty else {
                throw value.error(
                    "\(key) is a list of arguments, run without a shell",
                    fix: "write e.g. \(key): [\"redis-cli\", \"-p\", \"6380\", \"--rdb\", \"-\"], or add shell: true for one command line")
            }
            return try items.map { try $0.string() }
        }
        for (key, value) in entries {
            switch key {
            case "capture": adapter.capture = try program(value, key)
            case "restore": adapter.restore = try program(value, key)
            case "check": adapter.check = try program(value, key)
            case "pre": adapter.pre = try program(value, key)
            case "post": adapter.post = try program(value, key)
            case "timeout": adapter.timeout = try value.seconds()
            case "env_file":
                let path = PolicyLoader.resolve(try value.string(), relativeTo: settings.file)
                guard FileManager.default.isReadableFile(atPath: path) else {
                    throw value.error("env_file \(path) cannot be read", fix: "check the path and that this user may read it (mode 0600)")
                }
                do {
                    _ = try Self.environment(file: path)
                } catch let error as LifeboatError {
                    throw value.error(error.message, fix: error.fix)
                }
                adapter.envFile = path
            default: break
            }
        }
        guard !adapter.capture.isEmpty else {
            throw settings.error(
                "source \"\(name)\" of type command has no `capture:`",
                fix: "add capture: [PROGRAM, ARG…], the program whose stdout is the backup")
        }
        return adapter
    }

    /// `KEY=VALUE` lines (blank lines, `#` comments and a leading `export ` allowed; quotes
    /// around the value dropped).
    static func environment(file: String?) throws -> [String: String] {
        guard let file else { return [:] }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw LifeboatError(.invalidInput, "cannot read env_file \(file)")
        }
        var env: [String: String] = [:]
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let eq = line.firstIndex(of: "="), eq != line.startIndex,
                line[..<eq].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
            else {
                throw LifeboatError(.invalidInput, "env_file \(file):\(number + 1) is not KEY=VALUE", fix: "write one NAME=value per line")
            }
            var value = String(line[line.index(after: eq)...])
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q { value = String(value.dropFirst().dropLast()) }
            env[String(line[..<eq])] = value
        }
        return env
    }

    /// `role`'s program as run: the argv, or `sh -c TEXT`.
    static func line(_ words: [String], role: String, shell: Bool, environment: [String: String], timeout: TimeInterval) -> CommandProgram {
        CommandProgram(argv: shell ? ["/bin/sh", "-c", words[0]] : words, environment: environment, timeout: timeout, role: role)
    }

    func line(_ words: [String], role: String) throws -> CommandProgram {
        Self.line(words, role: role, shell: shell, environment: try Self.environment(file: envFile), timeout: timeout)
    }

    public func capture(into writer: ArchiveWriter, context: CaptureContext) async throws -> CaptureOutcome {
        // post always runs, also after a failed pre or capture (it undoes what pre did); its
        // failure is a warning on a snapshot that is otherwise whole.
        func runPost() -> String? {
            guard let post else { return nil }
            do { try line(post, role: "post").run() } catch let error as LifeboatError { return error.message } catch { return "\(error)" }
            return nil
        }
        var outcome: CaptureOutcome
        do {
            if let pre { try line(pre, role: "pre").run() }
            outcome = try captureStream(into: writer, context: context)
        } catch {
            _ = runPost()
            throw error
        }
        if let warning = runPost() { outcome.warnings.append(warning) }
        return outcome
    }

    private func captureStream(into writer: ArchiveWriter, context: CaptureContext) throws -> CaptureOutcome {
        var warnings: [String] = []
        let program = try line(capture, role: "capture")
        let spool = try ScratchSpool(directory: context.scratchDirectory, name: "command-\(name)")
        let started = Date()
        let (child, watchdog) = try program.start(stdout: .pipe)
        do {
            _ = try FileIO.forEachChunk(child.output, path: "stdout of \(capture[0])") { bytes in
                try Cancellation.process.check()
                try spool.write(bytes)
                context.progress.update("backing up \(name): \(ProgressLine.bytes(spool.size)) from \(capture[0])")
            }
        } catch {
            child.killGroup()
            _ = try? child.wait()
            watchdog.cancel()
            throw error
        }
        let code = try child.wait()
        watchdog.cancel()
        try program.check(code, child: child, watchdog: watchdog)
        context.progress.clear()
        guard spool.size > 0 else {
            let tail = child.errorText.suffix(2000)
            throw LifeboatError(
                .operationFailed,
                "the capture command exited 0 but wrote nothing to stdout (\(program.display))\(tail.isEmpty ? "" : "; its stderr: \(tail)")",
                fix:
                    "the backup is what the program writes to stdout; for a program that writes a file, capture with a wrapper: [\"sh\", \"-c\", \"prog --out /tmp/x && cat /tmp/x\"]"
            )
        }
        try spool.store(into: writer, entry: Self.entry, mtime: timespec(tv_sec: Int(started.timeIntervalSince1970), tv_nsec: 0))
        var metadata: [String: JSONValue] = [
            "capture": .array(program.argv.map { .string($0) }),
            "bytes": .int(spool.size),
            "timeout": .int(Int64(timeout)),
            "shell": .bool(shell),
        ]
        if let restore { metadata["restore"] = .array(try line(restore, role: "restore").argv.map { .string($0) }) }
        if let check { metadata["check"] = .array(try line(check, role: "check").argv.map { .string($0) }) }
        if let envFile { metadata["env_file"] = .string(envFile) }
        let stderrTail = child.errorText
        if !stderrTail.isEmpty { warnings.append("\(capture[0]) wrote to stderr: \(stderrTail.suffix(300))") }
        return CaptureOutcome(metadata: metadata, warnings: warnings, recoveryPoint: started)
    }

    static let entry = "stdout"

    /// Its restore program (the policy's or the manifest's), or the stream as `DIR/stdout`.
    public static func restoreTargets(for component: Manifest.Component) -> [RestoreTarget.Kind] { [.program, .directory] }

    public static func defaultRestoreTarget(for component: Manifest.Component) -> RestoreTarget? { .program }

    public static func restore(
        _ component: Manifest.Component, from reader: ComponentReader,
        to target: RestoreTarget, options: RestoreOptions
    ) async throws -> RestoreOutcome {
        try CommandRestore(component: component, target: target, options: options, configured: options.configuredSource as? CommandAdapter)
            .run(reader: reader)
    }
}
