import Foundation
import Synchronization

/// The process's one cancellation token: tripped by SIGINT/SIGTERM (`Interrupts`) or by a lost
/// repository lock, with the error the command ends with. Long loops (the byte pipeline, uploads,
/// waits on child processes) call `check()`; the first reason wins.
public final class Cancellation: Sendable {
    public static let process = Cancellation()

    private let reason = Mutex<LifeboatError?>(nil)
    private let isTripped = Atomic<Bool>(false)  // the cheap test `check` makes on every block

    /// Trips the token; a later trip keeps the first reason.
    public func trip(_ error: LifeboatError) {
        reason.withLock { if $0 == nil { $0 = error } }
        isTripped.store(true, ordering: .releasing)
    }

    public var tripped: LifeboatError? {
        isTripped.load(ordering: .acquiring) ? reason.withLock { $0 } : nil
    }

    /// Throws the reason once tripped.
    public func check() throws {
        if isTripped.load(ordering: .relaxed), let error = tripped { throw error }
    }
}
