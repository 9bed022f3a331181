import Foundation
import Testing

@testable import LifeboatCore

/// Drill plans: every example in drills/ parses, and bad plans get file:line:column errors.
@Suite struct DrillPlanTests {
    static let drills = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("drills").path

    @Test func everyExamplePlanParses() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.drills).filter { $0.hasSuffix(".yaml") }
        #expect(names.count >= 2)
        for name in names {
            let plan = try DrillPlan.load(path: Self.drills + "/" + name)
            #expect(!plan.sources.isEmpty)
            #expect(plan.policyPath.hasPrefix("/"))
        }
        let failover = try DrillPlan.load(path: Self.drills + "/failover-example.yaml")
        #expect(failover.kind == .failover)
        #expect(failover.heartbeatInterval == 0.1 && failover.heartbeatRun == 5)
        #expect(failover.sources.first { $0.name == "db" }?.primary?.sandbox == true)
        #expect(failover.objectives["db"] == Objectives(rpo: 60, rto: 300))
    }

    func error(_ text: String) -> LifeboatError? {
        do {
            _ = try DrillPlan.parse(text, file: "plan.yaml")
            return nil
        } catch let error as LifeboatError {
            return error
        } catch {
            return nil
        }
    }

    @Test func aPrimaryNotMarkedSandboxIsRefused() throws {
        let e = try #require(
            error(
                """
                policy: p.yaml
                kind: failover
                sources:
                  db:
                    primary: {datadir: /var/lib/postgresql/15/main}
                    target: {directory: /tmp/x, port: 5999}
                """))
        #expect(e.code == .invalidInput)
        #expect(e.location?.line == 5)
        #expect(e.message.contains("sandbox: true"))
    }

    @Test func mistakesPointAtTheirLine() throws {
        let typo = try #require(error("policy: p.yaml\nsources:\n  db:\n    targte: {database: x}\n"))
        #expect(typo.location?.line == 4 && typo.fix?.contains("target") == true)
        let check = try #require(error("policy: p.yaml\nsources:\n  db:\n    target: {database: x}\n    checks:\n      - {sql: \"SELECT 1\"}\n"))
        #expect(check.location?.line == 6 && check.message.contains("expect"))
        let noPolicy = try #require(error("sources:\n  db: {target: {database: x}}\n"))
        #expect(noPolicy.message.contains("policy"))
        let failoverWithoutPrimary = try #require(error("policy: p.yaml\nkind: failover\nsources:\n  db: {target: {database: x}}\n"))
        #expect(failoverWithoutPrimary.message.contains("primary"))
        let interval = try #require(error("policy: p.yaml\nheartbeat: {interval: 5}\nsources:\n  db: {target: {database: x}}\n"))
        #expect(interval.location?.line == 2)
    }
}
