import Foundation

/// Restores a `command` component: the stored stream is fed to the restore program's stdin, the
/// last 64 KiB held back until every byte and the stored file are proven, so a damaged snapshot
/// kills the program before it sees the end of its input. Then `check` must exit 0. The
/// programs come from the policy (`--policy`) or, without one, from the manifest. `--to DIR`
/// instead writes the stream as the file `DIR/stdout`.
struct CommandRestore {
    let component: Manifest.Component
    let target: RestoreTarget
    let options: RestoreOptions
    let configured: CommandAdapter?
    static let heldBack = 64 << 10

    func run(reader: ComponentReader) throws -> RestoreOutcome {
        let recorded = CommandMetadata(component)
        let timeout = configured?.timeout ?? recorded.timeout ?? 3600
        let environment = try CommandAdapter.environment(file: configured?.envFile ?? recorded.envFile)
        func program(_ key: String, _ configuredWords: [String]?) -> CommandProgram? {
            if let configured, let words = configuredWords {
                return CommandAdapter.line(words, role: key, shell: configured.shell, environment: environment, timeout: timeout)
            }
            guard configured == nil, let argv = recorded.argv(key) else { return nil }
            return CommandProgram(argv: argv, environment: environment, timeout: timeout, role: key)
        }
        if case .directory(let directory) = target {
            return try FileTreeRestore(target: directory, force: options.force, progress: options.progress).run(reader: reader)
        }
        guard let restore = program("restore", configured?.restore) else {
            throw LifeboatError(
                .invalidInput, "command source \"\(component.source)\" has no restore command",
                fix: "add restore: [PROGRAM, ARG…] to the source (and --policy), or write the stream out with --to DIR")
        }
        let bytes = try feed(reader: reader, restore)
        var checks = ["\(restore.argv[0]) read \(ProgressLine.bytes(bytes)) and exited 0"]
        if let check = program("check", configured?.check) {
            try check.run()
            checks.append("check `\(check.display)` exited 0")
        }
        return RestoreOutcome(target: restore.display, entries: component.entryCount, bytes: bytes, checks: checks)
    }

    private func feed(reader: ComponentReader, _ restore: CommandProgram) throws -> Int64 {
        let total = component.entries.first { $0.path == CommandAdapter.entry }?.size ?? 0
        let (child, watchdog) = try restore.start(stdin: .pipe)
        var input = HeldBackInput(child: child, total: total, heldBack: Self.heldBack)
        do {
            while let entry = try reader.next() {
                guard entry.record.path == CommandAdapter.entry else { continue }
                try reader.readData { bytes in
                    try Cancellation.process.check()
                    try input.feed(bytes)
                    options.progress.update(
                        "restoring \(component.source) into \(restore.argv[0]): \(ProgressLine.bytes(input.sent)) of \(ProgressLine.bytes(total))")
                }
            }
            // Every byte and the stored file are proven: the program may see the end.
            try input.release()
        } catch {
            child.killGroup()
            _ = try? child.wait()
            watchdog.cancel()
            options.progress.clear()
            throw error
        }
        options.progress.clear()
        child.closeInput()
        let code = try child.wait()
        watchdog.cancel()
        try restore.check(code, child: child, watchdog: watchdog)
        guard input.open else {
            throw LifeboatError(
                .operationFailed, "the restore command stopped reading its input before the end (\(restore.display)) and exited 0",
                fix: "it must read the whole stream from stdin")
        }
        return input.sent
    }
}
