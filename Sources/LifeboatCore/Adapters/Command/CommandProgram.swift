import Foundation

/// One program a `command` source runs: its argv (a list, never split by a shell unless the
/// source says `shell: true`, then `sh -c TEXT`), the environment from `env_file` (secrets for
/// the child, never its argv), and a deadline after which its whole process group is killed.
struct CommandProgram: Sendable, Equatable {
    var argv: [String]
    var environment: [String: String]
    var timeout: TimeInterval
    /// What the policy calls it, for messages: `capture`, `restore`, `check`, `pre`, `post`.
    var role: String

    var display: String { argv.count == 3 && argv[0] == "/bin/sh" && argv[1] == "-c" ? argv[2] : argv.joined(separator: " ") }

    /// Starts it; `stdin`/`stdout` as `RunningChild` takes them.
    func start(stdin: RunningChild.Stream = .null, stdout: RunningChild.Stream = .null) throws -> (RunningChild, Watchdog) {
        let child = try RunningChild(argv, stdin: stdin, stdout: stdout, environment: environment, ownGroup: true)
        return (child, Watchdog(child: child, after: timeout))
    }

    /// Runs it to the end with no input and no output kept; throws when it fails, naming the
    /// role, the exit status or the timeout, and the tail of its stderr.
    func run() throws {
        let (child, watchdog) = try start()
        let code = try child.wait()
        watchdog.cancel()
        try check(code, child: child, watchdog: watchdog)
    }

    /// The error for a finished child that did not succeed.
    func check(_ code: Int32, child: RunningChild, watchdog: Watchdog) throws {
        let tail = child.errorText.suffix(2000)
        let detail = tail.isEmpty ? "" : ": \(tail)"
        if watchdog.fired {
            throw LifeboatError(
                .operationFailed, "the \(role) command ran past its timeout of \(Self.duration(timeout)) and was killed (\(display))\(detail)",
                fix: "raise the source's timeout:, or find out why `\(argv[0])` hangs")
        }
        guard code == 0 else {
            throw LifeboatError(
                .operationFailed,
                "the \(role) command failed (exit \(code)\(code > 128 ? ", killed by signal \(code - 128)" : ""): \(display))\(detail)")
        }
    }

    static func duration(_ seconds: TimeInterval) -> String {
        seconds >= 3600 && seconds.truncatingRemainder(dividingBy: 3600) == 0
            ? "\(Int(seconds / 3600))h"
            : seconds >= 60 && seconds.truncatingRemainder(dividingBy: 60) == 0 ? "\(Int(seconds / 60))m" : "\(Int(seconds))s"
    }
}

/// Kills a child's process group when its deadline passes, or when the process is cancelled
/// (SIGINT, SIGTERM, a lost lock); `fired` tells the deadline from a normal end.
final class Watchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var finished = false
    private var firedFlag = false
    var fired: Bool { lock.withLock { firedFlag } }

    init(child: RunningChild, after timeout: TimeInterval) {
        let deadline = Date().addingTimeInterval(timeout)
        Thread.detachNewThread { [self] in
            while true {
                Thread.sleep(forTimeInterval: 0.05)
                let expired = Date() >= deadline
                let cancelled = Cancellation.process.tripped != nil
                let kill: Bool = lock.withLock {
                    if finished { return false }
                    guard expired || cancelled else { return false }
                    firedFlag = expired && !cancelled
                    finished = true
                    return true
                }
                if kill { child.killGroup() }
                if lock.withLock({ finished }) { return }
            }
        }
    }

    /// The child ended on its own: nothing to kill.
    func cancel() { lock.withLock { finished = true } }
}
