import Foundation
import Testing

@testable import LifeboatCore

/// The one retry rule: only transient failures are tried again, a bounded number of times, with
/// a capped, jittered backoff.
@Suite struct RetryPolicyTests {
    let fast = RetryPolicy(attempts: 4, firstDelay: 0.001, maxDelay: 0.004)

    @Test func aTransientErrorIsRetriedUntilItSucceeds() throws {
        var calls = 0
        let value = try fast.run { attempt -> RetryPolicy.Outcome<Int> in
            calls += 1
            if attempt < 3 { throw LifeboatError.transient("connection reset") }
            return .done(attempt)
        }
        #expect(value == 3 && calls == 3)
    }

    @Test func aNonTransientErrorIsThrownAtOnce() {
        var calls = 0
        #expect(throws: LifeboatError.self) {
            try fast.run { _ -> RetryPolicy.Outcome<Int> in
                calls += 1
                throw LifeboatError(.operationFailed, "TLS: the server cannot be trusted")
            }
        }
        #expect(calls == 1)
    }

    @Test func attemptsRunOutOnTheLastTransientError() {
        var calls = 0
        #expect(throws: LifeboatError.self) {
            try fast.run { _ -> RetryPolicy.Outcome<Int> in
                calls += 1
                throw LifeboatError.transient("timed out")
            }
        }
        #expect(calls == 4)
    }

    @Test func aTransientAnswerIsRetriedThenHandedOver() throws {
        var calls = 0
        let status = try fast.run { _ -> RetryPolicy.Outcome<Int> in
            calls += 1
            return .transient(503)
        }
        #expect(status == 503 && calls == 4)
    }

    @Test func statusesThatMeanTryAgainLater() {
        #expect([500, 502, 503, 504, 429, 408].allSatisfy(RetryPolicy.isTransient(status:)))
        #expect(![200, 204, 301, 400, 401, 403, 404, 409, 412].contains(where: RetryPolicy.isTransient(status:)))
    }

    @Test func theBackoffGrowsIsJitteredAndCapped() {
        let policy = RetryPolicy(attempts: 10, firstDelay: 0.25, maxDelay: 8)
        for _ in 0..<200 {
            let second = policy.delay(before: 2)
            let third = policy.delay(before: 3)
            let late = policy.delay(before: 10)
            #expect(second >= 0.125 && second <= 0.25)
            #expect(third >= 0.25 && third <= 0.5)
            #expect(late >= 4 && late <= 8)
        }
        let samples = Set((0..<50).map { _ in policy.delay(before: 4) })
        #expect(samples.count > 1)  // jitter: concurrent clients do not retry in step
    }
}
