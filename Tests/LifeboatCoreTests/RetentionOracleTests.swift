import Foundation
import Testing

@testable import LifeboatCore

/// Lifeboat's retention must keep exactly what restic 0.14's `forget` keeps, with the same
/// reasons. The fixtures in testdata/retention/ were produced by restic itself
/// (scripts/dev/retention-oracle.py): real repositories, real `restic forget --dry-run --json`.
@Suite struct RetentionOracleTests {
    struct Fixture: Decodable {
        struct Case: Decodable {
            struct Kept: Decodable {
                var time: String
                var reasons: [String]
            }
            var args: [String]
            var keep: [Kept]
            var remove: [String]
        }
        var name: String
        var timezone: String
        var restic: String
        var times: [String]
        var cases: [Case]
    }

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("testdata/retention").path

    static var fixtures: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
    }

    static func rules(_ args: [String]) throws -> RetentionRules {
        var rules = RetentionRules()
        var i = 0
        while i + 1 < args.count {
            let value = args[i + 1]
            switch args[i] {
            case "--keep-last": rules.last = Int(value)!
            case "--keep-hourly": rules.hourly = Int(value)!
            case "--keep-daily": rules.daily = Int(value)!
            case "--keep-weekly": rules.weekly = Int(value)!
            case "--keep-monthly": rules.monthly = Int(value)!
            case "--keep-yearly": rules.yearly = Int(value)!
            case "--keep-within": rules.within = try RetentionDuration(parsing: value)
            default: Issue.record("unknown flag \(args[i])")
            }
            i += 2
        }
        return rules
    }

    @Test func fixturesExist() {
        #expect(Self.fixtures.count >= 3)
    }

    /// With the policy's time zone, and with none (each timestamp's own UTC offset, as restic
    /// reads a snapshot's time): both must agree with restic.
    @Test(arguments: fixtures, [true, false])
    func agreesWithRestic(file: String, withTimeZone: Bool) throws {
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: URL(fileURLWithPath: Self.directory + "/" + file)))
        #expect(fixture.restic.contains("restic 0.14"))
        let times = fixture.times.map { Instant.parseRFC3339($0)! }
        // Shuffle the input: the answer must not depend on the order snapshots are listed in.
        var generator = SeededGenerator(seed: 42)
        let shuffled = times.shuffled(using: &generator)
        let zone = try #require(TimeZone(identifier: fixture.timezone))
        for c in fixture.cases {
            let retention = Retention(rules: try Self.rules(c.args), timeZone: withTimeZone ? zone : nil)
            let decisions = retention.apply(shuffled)
            let kept = decisions.filter(\.kept).map { (shuffled[$0.index], retention.reasons($0.matches)) }
            let removed = decisions.filter { !$0.kept }.map { shuffled[$0.index] }
            let expectedKept = c.keep.map { (Instant.parseRFC3339($0.time)!, $0.reasons) }
            let expectedRemoved = c.remove.map { Instant.parseRFC3339($0)! }
            #expect(kept.count == expectedKept.count, "\(fixture.name) \(c.args): kept \(kept.count), restic kept \(expectedKept.count)")
            #expect(Set(removed) == Set(expectedRemoved), "\(fixture.name) \(c.args)")
            for (mine, theirs) in zip(kept, expectedKept) where mine.0 != theirs.0 || mine.1 != theirs.1 {
                Issue.record("\(fixture.name) \(c.args): kept \(mine.0.date) \(mine.1), restic kept \(theirs.0.date) \(theirs.1)")
                break
            }
        }
    }
}

/// A deterministic generator for reproducible shuffles (SplitMix64).
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
