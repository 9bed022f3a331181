import Foundation

/// Stops and starts a server around work that needs it quiet (copying Chroma's persist
/// directory), with the policy's own shell commands, and measures how long it was down: from
/// the stop command until the server answers its health check again.
struct ServiceControl: Sendable {
    var stop: String
    var start: String
    /// True while the server answers.
    var isServing: @Sendable () -> Bool
    var name: String
    var waitLimit: TimeInterval = 120

    /// Runs `stop` and waits until the server no longer answers.
    func stopService() throws {
        let code = try ChildProcess.run(["/bin/sh", "-c", stop], in: "/")
        guard code == 0 else {
            throw LifeboatError(.operationFailed, "source \"\(name)\": the stop command failed (exit \(code)): \(stop)")
        }
        let deadline = Date().addingTimeInterval(waitLimit)
        while isServing() {
            guard Date() < deadline else {
                throw LifeboatError(.operationFailed, "source \"\(name)\": the server still answers \(Int(waitLimit)) s after the stop command")
            }
            try Cancellation.process.check()
            usleep(100_000)
        }
    }

    /// Runs `start` and waits until the server answers.
    func startService() throws {
        let code = try ChildProcess.run(["/bin/sh", "-c", start], in: "/")
        guard code == 0 else {
            throw LifeboatError(.operationFailed, "source \"\(name)\": the start command failed (exit \(code)): \(start)")
        }
        let deadline = Date().addingTimeInterval(waitLimit)
        while !isServing() {
            guard Date() < deadline else {
                throw LifeboatError(.operationFailed, "source \"\(name)\": the server does not answer \(Int(waitLimit)) s after the start command")
            }
            usleep(100_000)
        }
    }

    /// Stops the service, runs `body`, and starts it again whatever `body` did (also when the
    /// stop failed or was interrupted half-way: the service must serve again); returns what
    /// `body` returned and the downtime in seconds.
    func whileStopped<T>(_ body: () throws -> T) throws -> (T, downtime: Double) {
        let stopped = Date()
        do {
            try stopService()
        } catch {
            if !isServing() { try? startService() }
            throw error
        }
        CrashPoint.reach("service-stopped")
        let result: Result<T, any Error> = Result {
            try Cancellation.process.check()
            return try body()
        }
        try startService()
        return (try result.get(), Date().timeIntervalSince(stopped))
    }
}
