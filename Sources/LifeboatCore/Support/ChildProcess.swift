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
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/sh", &actions, nil, &cArgs, environ)
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

/// glibc 2.34+: close every descriptor from `from` up in the spawned child.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
func lifeboat_addclosefrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32
