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
        #expect(try DrillPlan.load(path: Self.drills + "/ransomware-example.yaml").kind == .ransomware)
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

    /// `heartbeats: recovered` needs heartbeats: a failover drill and a killed primary.
    @Test func aHeartbeatsCheckNeedsAKilledPrimary() throws {
        let restore = try #require(
            error("policy: p.yaml\nsources:\n  db:\n    target: {database: x}\n    checks: [{heartbeats: recovered}]\n"))
        #expect(restore.location?.line == 4 && restore.message.contains("only a failover drill writes heartbeats"))
        let plan = try DrillPlan.parse(
            "policy: p.yaml\nkind: failover\nsources:\n  db:\n    primary: {datadir: /d, sandbox: true}\n    target: {directory: /t, port: 5}\n    checks: [{heartbeats: recovered}]\n",
            file: "plan.yaml")
        #expect(plan.sources[0].checks.count == 1)
        #expect(error("policy: p.yaml\nsources:\n  db:\n    target: {database: x}\n    checks: [{heartbeats: all}]\n")?.fix == "use recovered")
    }

    /// The check passes when every acknowledged row up to the newest recovered is there, and
    /// names the missing ids when the recovery has a hole; rows after the newest are the writes
    /// lost (counted elsewhere), rows never acknowledged are noted.
    @Test func theHeartbeatsCheckFindsHoles() {
        let acknowledged: [Int64] = [10, 11, 12, 13, 14, 15]
        let whole = Heartbeat.holes(acknowledged: acknowledged, present: [9, 10, 11, 12, 13])
        #expect(whole.passed && whole.detail.contains("all 4 rows") && whole.detail.contains("id 13"))
        let extra = Heartbeat.holes(acknowledged: acknowledged, present: [10, 11, 12, 13, 14, 15, 16])
        #expect(extra.passed && extra.detail.contains("1 more written but not acknowledged"))
        let hole = Heartbeat.holes(acknowledged: acknowledged, present: [10, 13, 14])
        #expect(!hole.passed && hole.detail.contains("2 of the 5") && hole.detail.contains("id 11, 12"))
        let none = Heartbeat.holes(acknowledged: acknowledged, present: [3])
        #expect(!none.passed && none.detail.contains("none of the 6"))
    }
}
