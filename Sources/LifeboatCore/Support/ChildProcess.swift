import Foundation

/// Runs a program to completion with `posix_spawn` and `waitpid`, its stdout discarded. Foundation's
/// `Process` on Linux learns that a child ended when a pipe the child inherited reaches EOF, so a
/// child that daemonizes (`redis-server --daemonize yes`) keeps that pipe open in its grandchild
/// and `waitUntilExit` never returns; `waitpid` does not have that problem.
public enum ChildProcess {
    /// Runs `argv` (argv[0] looked up in PATH) in `directory`; returns its exit status.
    public static func run(_ argv: [String], in directory: String) throws -> Int32 {
        // posix_spawn has no portable chdir; a shell `cd` with quoted operands does it.
        let quoted = argv.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let script = "cd '\(directory.replacingOccurrences(of: "'", with: "'\\''"))' && exec \(quoted)"
        let args = ["/bin/sh", "-c", script]
        var cArgs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        // Nothing of ours beyond stdio may leak into the child: a daemon would hold it forever.
        _ = lifeboat_addclosefrom(&actions, 3)
        var attributes = ChildProcess.cleanSignals()
        defer { posix_spawnattr_destroy(&attributes) }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/sh", &actions, &attributes, &cArgs, environ)
        guard rc == 0 else { throw LifeboatError.system("cannot start \(argv.first ?? "")", errno: rc) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno == EINTR { continue }
            return 0  // reaped elsewhere; the caller checks the outcome itself
        }
        let exited = (status & 0x7f) == 0
        return exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}

extension ChildProcess {
    /// This program's absolute path (for restore_command, and helpers it starts).
    public static var currentExecutable: String {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        return CommandLine.arguments[0]
    }

    /// Starts `argv` (argv[0] an absolute path) in a session of its own, with stdin, stdout and
    /// stderr on /dev/null and nothing else inherited, and does not wait for it: a helper that
    /// outlives this process (`wal fetch` starting `wal prefetch`).
    public static func detach(_ argv: [String]) throws {
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
        _ = lifeboat_addclosefrom(&actions, 3)
        var attributes = ChildProcess.cleanSignals()
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | 0x80))  // 0x80: POSIX_SPAWN_SETSID
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, &attributes, &cArgs, environ)
        guard rc == 0 else { throw LifeboatError.system("cannot start \(argv[0])", errno: rc) }
    }

    /// Spawn attributes that give a child an empty signal mask and default SIGPIPE/SIGTERM
    /// handling: otherwise it inherits the mask of the spawning thread (Swift's runtime threads
    /// block SIGTERM, so a server started from one could not be stopped) and our ignored SIGPIPE.
    static func cleanSignals() -> posix_spawnattr_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        return attributes
    }
}

/// glibc 2.34+: close every descriptor from `from` up in the spawned child.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
func lifeboat_addclosefrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32
