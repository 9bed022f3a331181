import ArgumentParser
import Foundation
import LifeboatCore

struct DrillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill", abstract: "Run a DR drill from a plan; write its report (JSON, Markdown, HTML).",
        usage: "lifeboat drill --plan F [--report-dir D] [--parallel N] [<options>]",
        discussion: "Exit 0 when every check passed and every objective was met, 4 when an objective was missed, 1 when a check failed.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The drill plan (YAML; see drills/).")
    var plan: String

    @Option(name: .customLong("report-dir"), help: "Where to write NAME.json, NAME.md and NAME.html (default: the current directory).")
    var reportDir: String = "."

    @Option(name: .long, help: "Sources restored at once (default 4; 1 restores one after another).")
    var parallel: Int = 4

    @Option(name: .customLong("metrics-file"), help: "Write Prometheus textfile metrics (measured RTO/RPO, last successful drill) here.")
    var metricsFile: String?

    func run() async throws {
        let drillPlan = try DrillPlan.load(path: plan)
        let policy = try PolicyLoader.load(path: drillPlan.policyPath)
        let repository = try global.openRepository(policy: policy)
        // Drills restore from the repository and add their report to it: a shared lock.
        let report = try await RepositoryLock.reading(repository, command: "lifeboat drill --plan \(plan)", warn: global.warn) {
            try await {
                guard parallel >= 1 else { throw LifeboatError(.invalidInput, "--parallel must be at least 1") }
                var runner = DrillRunner(plan: drillPlan, policy: policy, repository: repository, progress: global.progress)
                runner.parallel = parallel
                return try await runner.run()
            }()
        }
        try FileIO.makeDirectory(reportDir)
        let stem = "\(reportDir)/\(report.fileStem)"
        try FileIO.writeAtomically(try report.json(), to: stem + ".json")
        try FileIO.writeAtomically(Array(DrillReportRenderer.markdown(report).utf8), to: stem + ".md")
        try FileIO.writeAtomically(Array(DrillReportRenderer.html(report).utf8), to: stem + ".html")
        let history = DrillHistory(repository: repository)
        try history.save(report)
        if let metricsFile {
            try FileIO.writeAtomically(
                Array(DrillReportRenderer.metrics(report, lastSuccess: history.lastSuccess(of: report.drill)).utf8), to: metricsFile)
        }
        let jsonPath = (stem as NSString).standardizingPath + ".json"
        if global.json {
            FileHandle.standardOutput.write(Data(try report.json()))
        } else if !global.quiet {
            print(
                "drill \(report.drill): RTO \(report.rtoSeconds.map { String(format: "%.1f s", $0) } ?? "—"), RPO \(report.rpoSeconds.map { String(format: "%.1f s", $0) } ?? "—"); checks \(report.checksPassed ? "passed" : "FAILED"), objectives \(report.objectivesMet ? "met" : "MISSED")"
            )
            for check in report.checks where !check.passed { print("  FAIL \(check.source): \(check.name): \(check.detail)") }
            print(jsonPath)
        }
        switch report.exitCode {
        case 0: return
        case 4: throw LifeboatError(.objectiveMissed, "drill \(report.drill) missed an objective; report \(jsonPath)")
        default: throw LifeboatError(.operationFailed, "drill \(report.drill): a check failed; report \(jsonPath)")
        }
    }
}

struct DrillsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drills", abstract: "Past drills: list them (the default), or verify a report.",
        subcommands: [DrillsListCommand.self, DrillsVerifyCommand.self], defaultSubcommand: DrillsListCommand.self)
}

struct DrillsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List past drills and the trend of their RTO and RPO.",
        usage: "lifeboat drills [list] [--plan NAME] [--repo REPO] [<options>]",
        discussion: "With --plan, one plan's drills with each source's RTO and RPO and the change against the drill before.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Only this plan's drills: its `drill:` name, or its file.")
    var plan: String?

    func run() async throws {
        var reports = DrillHistory(repository: try global.openRepository()).all()
        if let plan {
            let name = FileManager.default.fileExists(atPath: plan) ? try DrillPlan.load(path: plan).name : plan
            reports = reports.filter { $0.drill == name }
            if reports.isEmpty && !global.json {
                throw LifeboatError(.invalidInput, "the repository holds no drill of plan \"\(name)\"", fix: "`lifeboat drills` lists every drill")
            }
        }
        if global.json {
            struct Source: Encodable {
                var source: String
                var rto_seconds, rpo_seconds, rto_objective_seconds, rpo_objective_seconds: Double?
                var met: Bool
            }
            struct Row: Encodable {
                var drill, kind, started: String
                var rto_seconds, rpo_seconds: Double?
                var objectives_met, checks_passed: Bool
                var sources: [Source]
                var acknowledged_writes_lost: [String: Int]?
            }
            try Console.json(
                reports.map { r in
                    Row(
                        drill: r.drill, kind: r.kind, started: r.started, rto_seconds: r.rtoSeconds,
                        rpo_seconds: r.rpoSeconds, objectives_met: r.objectivesMet, checks_passed: r.checksPassed,
                        sources: r.sources.map {
                            Source(
                                source: $0.source, rto_seconds: $0.rtoSeconds, rpo_seconds: $0.rpoSeconds,
                                rto_objective_seconds: $0.rtoObjectiveSeconds, rpo_objective_seconds: $0.rpoObjectiveSeconds, met: $0.met)
                        },
                        acknowledged_writes_lost: r.failover?.acknowledgedWritesLost)
                })
            return
        }
        if plan != nil {
            printPlanTrend(reports)
        } else {
            printAll(reports)
        }
        if !global.quiet { print("\(reports.count) drill\(reports.count == 1 ? "" : "s")") }
    }

    private func s(_ v: Double?) -> String { v.map { String(format: "%.1f s", $0) } ?? "—" }

    private func result(_ r: DrillReport) -> String { DrillReport.verdict(checksPassed: r.checksPassed, objectivesMet: r.objectivesMet) }

    private func printAll(_ reports: [DrillReport]) {
        print("STARTED                    DRILL                 KIND      RTO        RPO        RESULT")
        var previous: [String: Double] = [:]
        for r in reports {
            var trend = ""
            if let rto = r.rtoSeconds, let before = previous[r.drill] {
                trend = String(format: " (%+.1f s)", rto - before)
            }
            if let rto = r.rtoSeconds { previous[r.drill] = rto }
            print(
                "\(r.started.padding(toLength: 26, withPad: " ", startingAt: 0)) \(r.drill.padding(toLength: 21, withPad: " ", startingAt: 0)) \(r.kind.padding(toLength: 9, withPad: " ", startingAt: 0)) \((s(r.rtoSeconds) + trend).padding(toLength: 10, withPad: " ", startingAt: 0)) \(s(r.rpoSeconds).padding(toLength: 10, withPad: " ", startingAt: 0)) \(result(r))"
            )
        }
    }

    /// One plan: a row per drill and source, with the change against the drill before.
    private func printPlanTrend(_ reports: [DrillReport]) {
        func cell(_ text: String, _ width: Int) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
        print("STARTED                    SOURCE           RTO                  RPO                  RESULT")
        var previous: [String: DrillReport.SourceResult] = [:]
        for r in reports {
            for source in r.sources {
                let before = previous[source.source]
                func withChange(_ value: Double?, _ was: Double?) -> String {
                    guard let value, let was else { return s(value) }
                    return s(value) + String(format: " (%+.1f s)", value - was)
                }
                print(
                    "\(cell(r.started, 26)) \(cell(source.source, 16)) \(cell(withChange(source.rtoSeconds, before?.rtoSeconds), 20)) \(cell(withChange(source.rpoSeconds, before?.rpoSeconds), 20)) \(source.met ? "met" : result(r))"
                )
                previous[source.source] = source
            }
        }
    }
}
