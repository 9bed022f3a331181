import Foundation

/// The machine's clock, in one place. `LIFEBOAT_FAKE_NOW` (RFC 3339) replaces it for the tests,
/// as `LIFEBOAT_CRASH_AT` injects crashes: the process then behaves as if the system clock said
/// that time, everywhere (snapshot stamps, due schedules, retention, the future-snapshot check).
public enum Clock {
    public static func now() -> Date {
        if let text = ProcessInfo.processInfo.environment["LIFEBOAT_FAKE_NOW"], let date = Timestamp.parse(text) { return date }
        return Date()
    }
}

/// Refuses to apply retention to a repository holding snapshots stamped later than now (plus a
/// tolerance): a clock that jumped forward once, or a rehearsal with a future time, must not make
/// `keep-within` forget every real snapshot.
public struct ClockGuard: Sendable {
    public var now: Date
    /// How far ahead of `now` a snapshot may be stamped (clocks of several hosts differ a little).
    public var tolerance: TimeInterval
    /// Apply retention anyway (`--allow-future`); `keep-within` still counts from `now` at most.
    public var allowFuture: Bool

    public static let defaultTolerance: TimeInterval = 300

    public init(now: Date, tolerance: TimeInterval = ClockGuard.defaultTolerance, allowFuture: Bool = false) {
        self.now = now
        self.tolerance = tolerance
        self.allowFuture = allowFuture
    }

    /// Throws `.invalidInput` when `plan` looks like the work of a clock that jumped forward
    /// (see `ForgetPlan.jumps`), unless `allowFuture`.
    public func check(_ plan: ForgetPlan, command: String) throws {
        guard !plan.jumps.isEmpty, !allowFuture else { return }
        throw LifeboatError(
            .invalidInput,
            "retention was not applied: " + plan.jumps.joined(separator: "; ")
                + "; a clock that jumped forward would make keep-within forget every earlier snapshot",
            fix:
                "check the clock (`timedatectl`, NTP) and the newest snapshot's time; if the gap is real (the host was off), rerun `\(command)` with --allow-future"
        )
    }

    /// Snapshots stamped later than now plus the tolerance.
    public func future(_ snapshots: [Manifest]) -> [Manifest] {
        let limit = now.addingTimeInterval(tolerance)
        return snapshots.filter { $0.time > limit }
    }

    /// Throws `.invalidInput` naming the future snapshots and the clock, unless `allowFuture`.
    public func check(_ snapshots: [Manifest], command: String) throws {
        let ahead = future(snapshots)
        guard !ahead.isEmpty, !allowFuture else { return }
        let names = ahead.prefix(5).map { "\($0.name) (\($0.started))" }.joined(separator: ", ") + (ahead.count > 5 ? ", …" : "")
        throw LifeboatError(
            .invalidInput,
            "\(ahead.count) snapshot\(ahead.count == 1 ? " is" : "s are") stamped later than this machine's clock "
                + "(now \(Timestamp.rfc3339(now)), tolerance \(Int(tolerance)) s): \(names); retention was not applied",
            fix: "check the clock (`timedatectl`, NTP). If the clock is right, the snapshots were stamped by a clock that ran ahead: "
                + "rerun `\(command)` with --allow-future (keep-within then counts from now), or forget them by name")
    }
}
