import Foundation
import Testing

@testable import LifeboatCore

/// The documentation is held to the code: every key the policy and drill-plan loaders accept is
/// documented on its page, every metric `run` writes is in docs/metrics.md, every relative link
/// resolves, and the README stays a front door.
@Suite struct DocumentationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static func page(_ relative: String) throws -> String {
        try String(contentsOfFile: root + "/" + relative, encoding: .utf8)
    }

    /// Keys missing from `page`, where a key counts as documented when it appears in backticks.
    static func undocumented(_ keys: [String], in page: String) throws -> [String] {
        let text = try Self.page(page)
        return keys.filter { !text.contains("`\($0)`") }
    }

    @Test func everyPolicyKeyIsInThePolicyReference() throws {
        let keys =
            PolicyLoader.topKeys + PolicyLoader.s3Keys + PolicyLoader.scheduleKeys + PolicyLoader.commonSourceKeys
            + RetentionRules.keys + Objectives.keys + ["webhook"] + SourceAdapters.all.map { $0.type }
        #expect(try Self.undocumented(keys, in: "docs/policy.md") == [])
    }

    @Test(arguments: SourceAdapters.all.map { $0.type })
    func everyKeyOfASourceIsOnItsPageAndInThePolicyReference(type: String) throws {
        let adapter = try #require(SourceAdapters.named(type))
        #expect(try Self.undocumented(adapter.settingKeys, in: "docs/sources/\(type).md") == [], "docs/sources/\(type).md")
        let policy = try Self.page("docs/policy.md")
        let row = try #require(policy.split(separator: "\n").first { $0.hasPrefix("| `\(type)` |") }, "docs/policy.md has no row for \(type)")
        #expect(adapter.settingKeys.filter { !row.contains("`\($0)`") } == [], "the \(type) row of docs/policy.md")
    }

    @Test func everyDrillPlanKeyIsInTheDrillsPage() throws {
        let keys =
            DrillPlan.topKeys + DrillPlan.sourceKeys + DrillPlan.targetKeys + DrillCheck.keys
            + ["interval", "run", "datadir", "sandbox"]
        #expect(try Self.undocumented(keys, in: "docs/drills.md") == [])
    }

    @Test func everyMetricOfRunIsInTheMetricsPage() throws {
        var state = RunState()
        state.sources = [
            RunState.SourceState(source: "db", schedule: "daily", lastSuccess: 1, durationSeconds: 2, bytes: 3, failures: 4)
        ]
        let names = PrometheusMetrics.render(state, now: Date(), succeeded: true).split(separator: "\n")
            .filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) }
        #expect(names.count == 6)
        #expect(try Self.undocumented(names, in: "docs/metrics.md") == [])
    }

    @Test func theReadmeIsAFrontDoor() throws {
        let lines = try Self.page("README.md").split(separator: "\n", omittingEmptySubsequences: false).count
        #expect(lines < 250, "README.md has \(lines) lines; move detail into docs/")
    }

    /// Relative Markdown links `[text](path)` and `[text](path#anchor)` in the README, the
    /// top-level guides and docs/ point at files that exist.
    @Test func everyRelativeLinkResolves() throws {
        var pages = ["README.md", "DESIGN.md", "CONTRIBUTING.md", "CHANGELOG.md"]
        for folder in ["docs", "docs/sources"] {
            pages += try FileManager.default.contentsOfDirectory(atPath: Self.root + "/" + folder)
                .filter { $0.hasSuffix(".md") }.map { "\(folder)/\($0)" }
        }
        let link = /\]\(([^)\s]+)\)/
        var broken: [String] = []
        for page in pages {
            let base = (page as NSString).deletingLastPathComponent
            for match in try Self.page(page).matches(of: link) {
                let target = String(match.1)
                if target.hasPrefix("http") || target.hasPrefix("#") || target.hasPrefix("mailto:") { continue }
                let path = String(target.split(separator: "#", maxSplits: 1)[0])
                let full = (Self.root + "/" + (base.isEmpty ? "" : base + "/") + path as NSString).standardizingPath
                if !FileManager.default.fileExists(atPath: full) { broken.append("\(page): \(target)") }
            }
        }
        #expect(broken == [])
    }

    /// The shipped alerting rules parse, and every metric they use is a documented one.
    @Test func theAlertingRulesUseDocumentedMetrics() throws {
        let text = try Self.page("contrib/prometheus/lifeboat.rules.yml")
        let root = try PolicyNode.parse(text, file: "lifeboat.rules.yml")
        let groups = try root.mapping().first { $0.key == "groups" }?.value.sequence() ?? []
        var metrics: [String] = []
        for group in groups {
            for rule in try group.mapping().first(where: { $0.key == "rules" })?.value.sequence() ?? [] {
                let fields = try rule.mapping()
                #expect(fields.contains { $0.key == "alert" })
                let expr = try #require(try fields.first { $0.key == "expr" }?.value.string())
                metrics += expr.matches(of: /lifeboat_[a-z_]+/).map { String($0.0) }
            }
        }
        #expect(metrics.count >= 5)
        #expect(try Self.undocumented(metrics, in: "docs/metrics.md") == [])
    }
}

extension DocumentationTests {
    /// The bucket policy in docs/append-only.md is the one `init --append-only --host-principal`
    /// sets, for the page's example bucket and host.
    @Test func theAppendOnlyPageShowsTheBucketPolicyInitSets() throws {
        let storage = try S3Storage(
            url: "s3://backups/prod", settings: StorageSettings(),
            environment: ["AWS_ACCESS_KEY_ID": "example", "AWS_SECRET_ACCESS_KEY": "example"])
        let document = AppendOnlyBucketPolicy.document(for: storage, principals: ["arn:aws:iam:::user/backup-host"])
        #expect(try Self.page("docs/append-only.md").contains("```json\n\(document)\n```"))
    }
}
