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

    static let fragments = [":", "- ", "{", "}", "[", "]", "\"", "'", "\n", "  ", "\t", "#", "&a", "*a", "!!int ", "-1", "0",
                            "99999999999999999999", "keep-daily: ", "cron: ", "type: ", "files", "@hourly", "*/", "é", "\u{0}",
                            "sources:", "schedules:", "retention:", "objectives:", "~", "null", "true", "1e9", "---", "...", "%"]

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
                    let a = Int.random(in: 0..<lines.count, using: &generator), b = Int.random(in: 0..<lines.count, using: &generator)
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
        var loaded = 0, refused = 0
        for i in 0..<10_000 {
            let text: String
            if i % 10 == 0 {  // pure noise from the fragment alphabet
                text = (0..<Int.random(in: 0...40, using: &generator)).map { _ in Self.fragments.randomElement(using: &generator)! }.joined()
            } else {
                text = mutate(Self.seeds[i % Self.seeds.count], using: &generator)
            }
            do {
                _ = try PolicyLoader.parse(text, file: "fuzz.yaml")
                loaded += 1
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
