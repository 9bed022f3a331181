import Foundation

/// A child program whose stdin or stdout is a pipe to us (`pg_dump` streaming a dump to us,
/// `pg_restore` reading one from us), started with `posix_spawn` so that nothing of ours but the
/// pipes leaks into it. Its stderr is collected on a thread (the last 64 KiB) for error messages.
/// Extra environment (a password) goes to the child's environment, never its argv.
public final class RunningChild: @unchecked Sendable {
    public enum Stream { case pipe, null }

    public let program: String
    public let pid: pid_t
    /// Our end of the child's stdout, when it is a pipe (read it to EOF, then `wait`).
    public private(set) var output: Int32 = -1
    /// Our end of the child's stdin, when it is a pipe (write, then `closeInput`).
    public private(set) var input: Int32 = -1
    private var errorFD: Int32 = -1
    private let errorDone = DispatchSemaphore(value: 0)
    private var errorTail: [UInt8] = []
    private var status: Int32?
    private let ownGroup: Bool

    /// Starts `argv` (argv[0] an absolute path or a name looked up in PATH).
    /// `ownGroup`: the child leads a new process group, so `killGroup` reaches what it starts
    /// (a `sh -c` pipeline), not only itself.
    public init(
        _ argv: [String], stdin: Stream = .null, stdout: Stream = .pipe,
        environment extra: [String: String] = [:], ownGroup: Bool = false
    ) throws {
        program = (argv[0] as NSString).lastPathComponent
        var pipes: [Int32] = []
        func makePipe() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw LifeboatError.system("cannot create a pipe for \(argv[0])") }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }  // glibc's pipe2 is not imported
            pipes += fds
            return (fds[0], fds[1])
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        do {
            if stdin == .pipe {
                let p = try makePipe()
                input = p.write
                posix_spawn_file_actions_adddup2(&actions, p.read, 0)
            } else {
                posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            }
            if stdout == .pipe {
                let p = try makePipe()
                // 1 MiB instead of 64 KiB: a tenth of the wake-ups for a fast producer.
                _ = fcntl(p.read, 1031, Int32(1 << 20))  // F_SETPIPE_SZ
                output = p.read
                posix_spawn_file_actions_adddup2(&actions, p.write, 1)
            } else {
                posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            }
            let e = try makePipe()
            errorFD = e.read
            posix_spawn_file_actions_adddup2(&actions, e.write, 2)
        } catch {
            for fd in pipes { close(fd) }
            throw error
        }
        _ = lifeboat_addclosefrom(&actions, 3)
        signal(SIGPIPE, SIG_IGN)  // a child that stops reading gives EPIPE, not our death
        var env = ProcessInfo.processInfo.environment
        for (k, v) in extra { env[k] = v }
        let envStrings = env.map { "\($0.key)=\($0.value)" }
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        var cEnv: [UnsafeMutablePointer<CChar>?] = envStrings.map { strdup($0) } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        var attributes = ChildProcess.cleanSignals()
        defer { posix_spawnattr_destroy(&attributes) }
        if ownGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        }
        self.ownGroup = ownGroup
        var child: pid_t = 0
        let rc =
            argv[0].contains("/")
            ? posix_spawn(&child, argv[0], &actions, &attributes, &cArgs, &cEnv)
            : posix_spawnp(&child, argv[0], &actions, &attributes, &cArgs, &cEnv)
        // Close the child's ends in this process; keep ours.
        for fd in pipes where fd != output && fd != input && fd != errorFD { close(fd) }
        guard rc == 0 else {
            for fd in [output, input, errorFD] where fd >= 0 { close(fd) }
            throw LifeboatError(
                .invalidInput, "cannot start \(argv[0]): \(String(cString: strerror(rc)))",
                fix: "install it, or set bin_dir to the directory that holds it")
        }
        pid = child
        let fd = errorFD
        Thread.detachNewThread { [self] in
            var buffer = [UInt8](repeating: 0, count: 16384)
            while true {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                errorTail += buffer[0..<n]
                if errorTail.count > 65536 { errorTail.removeFirst(errorTail.count - 65536) }
            }
            close(fd)
            errorDone.signal()
        }
    }

    deinit {
        if output >= 0 { close(output) }
        if input >= 0 { close(input) }
        if status == nil {
            kill(pid, SIGKILL)
            _ = try? wait()
        }
    }

    /// Writes all of `bytes` to the child's stdin; false when the child stopped reading (EPIPE).
    public func write(_ bytes: UnsafeRawBufferPointer) throws -> Bool {
        guard var p = bytes.baseAddress else { return true }
        var left = bytes.count
        while left > 0 {
            let written = Glibc.write(input, p, left)
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { return false }
                throw LifeboatError.system("cannot write to \(program)")
            }
            p += written
            left -= written
        }
        return true
    }

    /// Closes our end of the child's stdin (it sees end of file).
    public func closeInput() {
        if input >= 0 { close(input) }
        input = -1
    }

    /// Waits for the child; returns its exit status (128+signal when killed).
    @discardableResult
    public func wait() throws -> Int32 {
        if let status { return status }
        closeInput()
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 {
            if errno == EINTR { continue }
            throw LifeboatError.system("cannot wait for \(program)")
        }
        errorDone.wait()
        let exited = (raw & 0x7f) == 0
        let code = exited ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        status = code
        return code
    }

    /// What the child wrote to stderr (its last 64 KiB), trimmed; valid after `wait`.
    public var errorText: String {
        String(decoding: errorTail, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Waits and throws `.operationFailed` with the child's stderr unless it exited 0.
    public func waitForSuccess() throws {
        let code = try wait()
        guard code == 0 else {
            let text = errorText
            throw LifeboatError(.operationFailed, "\(program) failed (exit \(code))" + (text.isEmpty ? "" : ": \(text)"))
        }
    }

    /// Kills the child (SIGTERM) when a caller abandons it.
    public func terminate() {
        if status == nil { kill(pid, SIGTERM) }
    }

    /// SIGKILL to the child's process group (`ownGroup`), else to the child.
    public func killGroup() {
        guard status == nil else { return }
        kill(ownGroup ? -pid : pid, SIGKILL)
    }
}
