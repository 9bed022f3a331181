import Foundation

/// Fault injection for crash-safety tests: when `LIFEBOAT_CRASH_AT` names a point, the process
/// kills itself with SIGKILL there, exactly as `kill -9` would, with no cleanup.
enum CrashPoint {
    private static let target = ProcessInfo.processInfo.environment["LIFEBOAT_CRASH_AT"]

    static func reach(_ name: String) {
        if target == name { kill(getpid(), SIGKILL) }
    }
}
