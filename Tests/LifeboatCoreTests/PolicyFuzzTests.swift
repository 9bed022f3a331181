import Foundation
import Testing

@testable import LifeboatCore

/// No input crashes the policy loader: 10,000 random and mutated policies either load or fail
/// with an invalid-input error that points at a line and column.
@Suite struct PolicyFuzzTests {
    static let seeds: [String] = {
        let dir = ExamplePolicyTests.directory
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".yaml") }
        return files.compactMap { try? String(contentsOfFile: dir + "/" + $0, encoding: .utf8) }
    }()

    static let fragments = [
        ":", "- ", "{", "}", "[", "]", "\"", "'", "\n", "  ", "\t", "#", "&a", "*a", "!!int ", "-1", "0",
        "99999999999999999999", "keep-daily: ", "cron: ", "type: ", "files", "@hourly", "*/", "é", "\u{0}",
        "sources:", "schedules:", "retention:", "objectives:", "~", "null", "true", "1e9", "---", "...", "%",
        "keep-within: ", "1000000000000y", "999y", "1000y", "8784000h", "keep-last: ", "1000000", "keep-yearly: ",
    ]

    /// Snapshots of every schedule and source a policy names, spread over years (some in the
    /// future of the rehearsal clock), for retention to chew on.
    static func snapshots(for policy: Policy, using generator: inout SeededGenerator) -> [Manifest] {
        var out: [Manifest] = []
        for schedule in policy.schedules + [
            Policy.Schedule(name: "manual", cron: try! CronSchedule(parsing: "@daily"), sources: [], compression: nil, retention: nil)
        ] {
            for _ in 0..<Int.random(in: 0...12, using: &generator) {
                let time = Date(timeIntervalSince1970: Double.random(in: -2e9...4e9, using: &generator))
                let components = policy.sources.map {
                    Manifest.Component(
                        source: $0.name, type: "files", file: "data/x/\($0.name).tar", compression: "none", bytes: 1, sha256: "",
                        contentBytes: 1, entries: [], metadata: [:], warnings: [])
                }
                out.append(
                    Manifest(
                        id: Hex.random(bytes: 8), name: "\(schedule.name)-x", schedule: schedule.name, policy: nil, host: "h",
                        started: Timestamp.rfc3339(time), finished: Timestamp.rfc3339(time), recoveryPoint: Timestamp.rfc3339(time),
                        tools: [:], components: components))
            }
        }
        return out
    }

    func mutate(_ text: String, using generator: inout SeededGenerator) -> String {
        var chars = Array(text.unicodeScalars)
        for _ in 0..<Int.random(in: 1...6, using: &generator) {
            let position = chars.isEmpty ? 0 : Int.random(in: 0..<chars.count, using: &generator)
            switch Int.random(in: 0..<5, using: &generator) {
            case 0 where !chars.isEmpty: chars.remove(at: position)
            case 1: chars.insert(contentsOf: Self.fragments.randomElement(using: &generator)!.unicodeScalars, at: position)
            case 2 where !chars.isEmpty: chars[position] = Unicode.Scalar(UInt8.random(in: 32...126, using: &generator))
            case 3:  // swap two lines
                var lines = String(String.UnicodeScalarView(chars)).split(separator: "\n", omittingEmptySubsequences: false)
                if lines.count > 2 {
                    let a = Int.random(in: 0..<lines.count, using: &generator)
                    let b = Int.random(in: 0..<lines.count, using: &generator)
                    lines.swapAt(a, b)
                }
                chars = Array(lines.joined(separator: "\n").unicodeScalars)
            default:  // truncate
                chars = Array(chars.prefix(position))
            }
        }
        return String(String.UnicodeScalarView(chars))
    }

    @Test func tenThousandRandomAndMutatedPoliciesNeverCrash() {
        #expect(!Self.seeds.isEmpty)
        var generator = SeededGenerator(seed: 7)
        var loaded = 0
        var refused = 0
        for i in 0..<10_000 {
            let text: String
            if i % 10 == 0 {  // pure noise from the fragment alphabet
                text = (0..<Int.random(in: 0...40, using: &generator)).map { _ in Self.fragments.randomElement(using: &generator)! }.joined()
            } else {
                text = mutate(Self.seeds[i % Self.seeds.count], using: &generator)
            }
            do {
                let policy = try PolicyLoader.parse(text, file: "fuzz.yaml")
                loaded += 1
                // What forget --dry-run and run's retention compute, with snapshots present.
                let snapshots = Self.snapshots(for: policy, using: &generator)
                let now = Date(timeIntervalSince1970: Double.random(in: 0...3e9, using: &generator))
                let plan = ForgetPlan(policy: policy, snapshots: snapshots, now: now)
                _ = ClockGuard(now: now).future(snapshots)
                #expect(plan.forget.allSatisfy { id in snapshots.contains { $0.id == id && $0.schedule != "manual" } })
            } catch let error as LifeboatError {
                refused += 1
                if error.code != .invalidInput || error.location == nil || error.location!.line < 1 {
                    Issue.record("case \(i): \(error) for input:\n\(text)")
                    return
                }
            } catch {
                Issue.record("case \(i): unexpected \(type(of: error)) \(error)")
                return
            }
        }
        #expect(loaded + refused == 10_000)
        #expect(refused > 5_000)
    }
}
