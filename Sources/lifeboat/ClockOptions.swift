import ArgumentParser
import Foundation
import LifeboatCore

/// How retention treats snapshots stamped later than this machine's clock (`forget`, `prune`,
/// `run`): refused unless `--allow-future`.
struct ClockOptions: ParsableArguments {
    @Flag(name: .long, help: "Apply retention even when snapshots are stamped later than now (keep-within still counts from now).")
    var allowFuture = false

    @Option(name: .long, help: "How far ahead of this machine's clock a snapshot may be stamped (default 5m).")
    var clockTolerance: String?

    /// The guard at `now` (the machine's clock unless given).
    func guardAt(_ now: Date = Clock.now()) throws -> ClockGuard {
        var tolerance = ClockGuard.defaultTolerance
        if let text = clockTolerance {
            guard let seconds = Objectives.seconds(parsing: text) else {
                throw LifeboatError(.invalidInput, "--clock-tolerance \(text) is not a duration", fix: "write e.g. 5m, 90s or 1h")
            }
            tolerance = seconds
        }
        return ClockGuard(now: now, tolerance: tolerance, allowFuture: allowFuture)
    }
}
