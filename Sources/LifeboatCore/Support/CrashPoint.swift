import Foundation
import Synchronization

/// Fault injection for crash-safety tests: when `LIFEBOAT_CRASH_AT` names a point, the process
/// kills itself with SIGKILL there, exactly as `kill -9` would, with no cleanup. When
/// `LIFEBOAT_PAUSE_AT` is `POINT:SECONDS`, the first arrival at POINT sleeps that long (a test
/// then breaks something underneath: stops the object store, say).
///
/// In process, a test binds `simulated` for a task: each point reached in that task is passed
/// to it (the in-memory storage of the test support freezes there, as a power cut would).
public enum CrashPoint {
    @TaskLocal public static var simulated: (@Sendable (String) -> Void)?

    private static let target = ProcessInfo.processInfo.environment["LIFEBOAT_CRASH_AT"]
    private static let pause: (String, Double)? = {
        guard let text = ProcessInfo.processInfo.environment["LIFEBOAT_PAUSE_AT"], let colon = text.lastIndex(of: ":"),
            let seconds = Double(text[text.index(after: colon)...])
        else { return nil }
        return (String(text[..<colon]), seconds)
    }()
    private static let paused = Mutex(false)

    static func reach(_ name: String) {
        simulated?(name)
        if target == name { kill(getpid(), SIGKILL) }
        if let (point, seconds) = pause, point == name,
            paused.withLock({ (was: inout Bool) -> Bool in
                defer { was = true }
                return !was
            })
        {
            FileHandle.standardError.write(Data("lifeboat: paused at \(name) for \(seconds) s\n".utf8))
            Thread.sleep(forTimeInterval: seconds)
        }
    }
}
