import Foundation

/// The one retry rule for talking to servers: only transient failures are tried again (a
/// connection refused, reset or timed out; HTTP 5xx, 429 and 408, which is how S3 says
/// `SlowDown`), at most `attempts` times, waiting a capped exponential backoff with jitter in
/// between. A certificate that cannot be trusted, a refused signature or a missing object is
/// answered at once.
public struct RetryPolicy: Sendable {
    public var attempts: Int
    public var firstDelay: TimeInterval
    public var maxDelay: TimeInterval

    public init(attempts: Int = 5, firstDelay: TimeInterval = 0.25, maxDelay: TimeInterval = 8) {
        self.attempts = max(1, attempts)
        self.firstDelay = firstDelay
        self.maxDelay = maxDelay
    }

    public static let standard = RetryPolicy()
    public static let once = RetryPolicy(attempts: 1)

    /// What one attempt came to.
    public enum Outcome<Value> {
        /// Final: hand it to the caller.
        case done(Value)
        /// A transient answer (a 503): try again if attempts remain, else hand it over.
        case transient(Value)
    }

    /// Whether an HTTP status says "try again later".
    public static func isTransient(status: Int) -> Bool {
        status >= 500 || status == 429 || status == 408
    }

    public static func isTransient(_ error: any Error) -> Bool {
        (error as? LifeboatError)?.isTransient == true
    }

    /// The wait before attempt `attempt` (2, 3, …): half the capped exponential plus a random half.
    public func delay(before attempt: Int) -> TimeInterval {
        let exponential = min(maxDelay, firstDelay * pow(2, Double(max(0, attempt - 2))))
        return exponential / 2 + Double.random(in: 0...(exponential / 2))
    }

    /// Runs `body(attempt)` until it is done, a non-transient error is thrown, or attempts run
    /// out; a cancelled process stops waiting.
    public func run<Value>(_ body: (Int) throws -> Outcome<Value>) throws -> Value {
        var attempt = 1
        while true {
            do {
                switch try body(attempt) {
                case .done(let value): return value
                case .transient(let value) where attempt >= attempts: return value
                case .transient: break
                }
            } catch  where Self.isTransient(error) && attempt < attempts {
                // tried again below
            }
            attempt += 1
            try pause(delay(before: attempt))
        }
    }

    private func pause(_ seconds: TimeInterval) throws {
        let until = Date().addingTimeInterval(seconds)
        while Date() < until {
            try Cancellation.process.check()
            Thread.sleep(forTimeInterval: min(0.05, max(0, until.timeIntervalSinceNow)))
        }
        try Cancellation.process.check()
    }
}
