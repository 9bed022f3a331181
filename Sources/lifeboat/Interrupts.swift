import Foundation
import LifeboatCore

/// SIGINT and SIGTERM: the first trips the process's `Cancellation` (every long loop then stops,
/// and the command cleans up on its way out: temporaries, uploads, child processes, a stopped
/// Chroma started again, the lock) and the command exits 130 (SIGINT) or 143 (SIGTERM). A second
/// signal exits at once, with the same status, without cleaning up.
enum Interrupts {
    // Plain integers: the handler reads them without touching the heap or reference counts.
    nonisolated(unsafe) private static var writeEnd: Int32 = -1
    nonisolated(unsafe) private static var received: sig_atomic_t = 0

    static func install() {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return }
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        writeEnd = ends[1]
        let readEnd = ends[0]
        for signal in [SIGINT, SIGTERM] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in
                // Only async-signal-safe calls here.
                if Interrupts.received != 0 { _exit(signal == SIGTERM ? 143 : 130) }
                Interrupts.received = 1
                var byte = UInt8(truncatingIfNeeded: signal)
                _ = write(Interrupts.writeEnd, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
        }
        let thread = Thread {
            var byte: UInt8 = 0
            while read(readEnd, &byte, 1) != 1 {}
            let signal = Int32(byte)
            let error =
                signal == SIGTERM
                ? LifeboatError(.terminated, "stopped by SIGTERM; cleaned up what this run had started")
                : LifeboatError(.interrupted, "interrupted (SIGINT); cleaned up what this run had started")
            Console.note("lifeboat: \(signal == SIGTERM ? "SIGTERM" : "interrupt") received, stopping (again to exit at once)")
            Cancellation.process.trip(error)
        }
        thread.name = "lifeboat-signals"
        thread.start()
    }
}
