import Foundation
import Testing

@testable import LifeboatCore

/// Every example in policies/ must load: the examples are documentation that cannot rot.
@Suite struct ExamplePolicyTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("policies").path

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
    }

    @Test func thereAreExamples() {
        #expect(!Self.files.isEmpty)
    }

    @Test(arguments: files)
    func exampleLoads(file: String) throws {
        let policy = try PolicyLoader.load(path: Self.directory + "/" + file)
        #expect(!policy.sources.isEmpty)
        #expect(!policy.schedules.isEmpty)
        for schedule in policy.schedules { #expect(!policy.sources(of: schedule).isEmpty) }
    }
}
