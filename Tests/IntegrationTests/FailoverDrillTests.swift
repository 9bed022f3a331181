import Foundation
import LifeboatCore
import Testing

/// A failover drill on sandbox servers (PostgreSQL with WAL archiving, Redis, Chroma): heartbeats
/// every 100 ms, SIGKILL of the primaries, recovery from the repository on standby targets. The
/// RPO measured from the heartbeats is no larger than the archive lag allows (archive_timeout 1 s).
@Suite(.serialized) struct FailoverDrillTests {
    @Test func aFailoverDrillMeasuresRPOFromHeartbeats() throws {
        let box = try Sandbox("failover")
        try PostgresServer.giveToOwner(box.root)
        #expect(try CLI.runAsClusterOwner(["init", "--repo", box.repo]).status == 0)
        let pg = try PostgresServer(
            in: box.root + "/pg",
            extraConfig: [
                "archive_mode = on", "archive_command = '\(CLI.binary) wal push --repo \(box.repo) %p'", "archive_timeout = 1s",
            ])
        try pg.pgbench(database: "app", scale: 1)
        let redis = try RedisServer(in: box.root + "/redis")
        try redis.populate(keys: 5_000)
        let chroma = try ChromaServer(in: box.root + "/chroma")
        try chroma.populate(collection: "docs", count: 1000, space: "cosine", seed: 9)
        try """
        repository: \(box.repo)
        sources:
          phys: {type: postgres, port: \(pg.port), database: app, user: postgres, mode: physical}
          cache: {type: redis, port: \(redis.port), config: \(redis.config)}
          vectors: {type: chroma, path: \(chroma.persistDirectory), url: "\(chroma.url)", stop: "\(chroma.stopCommand)", start: "\(chroma.startCommand)"}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        let backup = try CLI.run(["backup", "--policy", box.policy])
        #expect(backup.status == 0, "\(backup.output)")
        // Nothing writes to Redis until the drill: its digest now is the snapshot's content,
        // which the recovered server must hold (the quick start's plan does the same).
        let digest = try #require(try RESPClient(host: "127.0.0.1", port: redis.port).expect("DEBUG", "DIGEST").text)

        let scratch = box.root + "/standby"
        let standbyPort = try RedisServer.freePort()
        let plan = box.root + "/failover.yaml"
        try """
        drill: failover
        policy: \(box.policy)
        kind: failover
        heartbeat: {interval: 100ms, run: 4s}
        sources:
          phys:
            primary: {datadir: \(pg.dataDirectory), sandbox: true}
            target: {directory: \(scratch)/phys, port: \(standbyPort)}
            checks:
              - {sql: "SELECT count(*) FROM pgbench_branches", expect: "1"}
              - {heartbeats: recovered}
          cache:
            primary: {sandbox: true}
            target: {directory: \(scratch)/cache, port: \(try RedisServer.freePort())}
            checks: [{redis: digest, expect: "\(digest)"}]
          vectors:
            target:
              directory: \(scratch)/vectors
              port: \(try RedisServer.freePort())
              start: "\(PostgresServer.sandboxScripts)/chroma-sandbox.sh start {directory}.lifeboat-server {port} {directory}"
              stop: "\(PostgresServer.sandboxScripts)/chroma-sandbox.sh stop {directory}.lifeboat-server"
        objectives:
          phys: {rto: 5m, rpo: 1h}
          cache: {rto: 5m, rpo: 1h}
          vectors: {rto: 5m, rpo: 1h}
        """.write(toFile: plan, atomically: true, encoding: .utf8)
        let drill = try CLI.run(["drill", "--plan", plan, "--report-dir", box.root + "/reports"])
        #expect(drill.status == 0, "\(drill.output)")
        let path = try #require(drill.stdout.split(separator: "\n").last.map(String.init))
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        #expect(report["kind"] as? String == "failover")
        #expect(try ReportSchema.violations(of: path) == [], "docs/drill-report.schema.json")
        #expect((report["rto_seconds"] as? Double ?? 0) > 0)
        #expect(report["objectives_met"] as? Bool == true)
        let failover = try #require(report["failover"] as? [String: Any])
        #expect(Set(failover["killed"] as? [String] ?? []) == ["phys", "cache"])
        #expect(((failover["heartbeats_written"] as? [String: Int])?["phys"] ?? 0) >= 20)
        // The Markdown report tells it first, with the heartbeat writer's own figures.
        let markdown = try String(contentsOfFile: String(path.dropLast(5)) + ".md", encoding: .utf8)
        let written = (failover["heartbeats_written"] as? [String: Int])?["phys"] ?? -1
        #expect(markdown.contains("## What happened") && markdown.contains("were killed with SIGKILL at \(failover["killed_at"] as? String ?? "?")"))
        #expect(markdown.contains("phys: \(written) heartbeats written"), "\(markdown)")
        #expect(markdown.contains("vectors was not killed") && markdown.contains("offsets and RTO count from the kill"))
        // The primaries are dead (SIGKILL), not stopped.
        #expect(
            (try? PostgresConnection(host: "127.0.0.1", port: pg.port, database: "app", user: "postgres", password: nil, connectTimeout: 2)) == nil)
        let sources = try #require(report["sources"] as? [[String: Any]])
        let phys = try #require(sources.first { $0["source"] as? String == "phys" })
        let rpo = try #require(phys["rpo_seconds"] as? Double)
        // A heartbeat committed at most ~1 s (archive_timeout) plus the push before the kill survives.
        #expect(rpo >= 0 && rpo <= 3.0, "RPO \(rpo)")
        let phases = try #require(report["phases"] as? [[String: Any]])
        let physPhases = phases.filter { $0["source"] as? String == "phys" }.compactMap { $0["name"] as? String }
        #expect(physPhases == ["restore", "wal replay", "checks"])
        #expect(phases.filter { $0["source"] as? String == "cache" }.compactMap { $0["name"] as? String } == ["restore", "start", "checks"])
        #expect(phases.filter { $0["source"] as? String == "vectors" }.compactMap { $0["name"] as? String } == ["restore", "start", "checks"])
        let checks = try #require(report["checks"] as? [[String: Any]])
        #expect(checks.contains { $0["source"] as? String == "phys" && $0["name"] as? String == "heartbeat" && $0["passed"] as? Bool == true })
        #expect(checks.allSatisfy { $0["passed"] as? Bool == true }, "\(checks)")
        // Every heartbeat row acknowledged before the newest recovered one was replayed.
        let rows = try #require(checks.first { $0["source"] as? String == "phys" && ($0["name"] as? String)?.hasPrefix("heartbeats:") == true })
        #expect((rows["detail"] as? String)?.hasPrefix("all ") == true, "\(rows)")
        #expect(checks.contains { $0["source"] as? String == "cache" && ($0["detail"] as? String)?.contains("restored \(digest)") == true })
        // The cache's RPO comes from its snapshot: no heartbeat reached a backup.
        let cache = try #require(sources.first { $0["source"] as? String == "cache" })
        #expect((cache["rpo_seconds"] as? Double ?? 0) >= 4)
        // Per-source recovery points: each its own capture moment, in capture order (the cache's
        // RDB forked before the vectors' copy began), not one snapshot-wide value.
        let vectors = try #require(sources.first { $0["source"] as? String == "vectors" })
        let cachePoint = try #require((cache["recovery_point"] as? String).flatMap(Timestamp.parse))
        let vectorsPoint = try #require((vectors["recovery_point"] as? String).flatMap(Timestamp.parse))
        #expect(cachePoint < vectorsPoint, "cache \(cachePoint), vectors \(vectorsPoint)")

        // Acknowledged writes lost, counted against what the dead primary really holds: started
        // again (crash recovery), it has every acknowledged heartbeat; those newer than the
        // newest one the standby recovered are the ones lost. (The report's times are to the
        // millisecond, heartbeats 100 ms apart: rows 50 ms after it are newer.)
        let lost = try #require(failover["acknowledged_writes_lost"] as? [String: Int])
        let recovered = try #require(failover["newest_heartbeat_recovered"] as? [String: String])
        try pg.startAgain()
        let primary = try pg.connect("app")
        #expect(try primary.value("SELECT count(*) FROM lifeboat_heartbeat") == String(written))
        let newer = try primary.value("SELECT count(*) FROM lifeboat_heartbeat WHERE t > $1::timestamptz + interval '50 ms'", [recovered["phys"]])
        #expect(newer == lost["phys"].map(String.init), "lost \(lost), recovered \(recovered)")
        // No heartbeat reached the cache's snapshot: every acknowledged one was lost.
        let cacheWritten = (failover["heartbeats_written"] as? [String: Int])?["cache"] ?? -1
        #expect(lost["cache"] == cacheWritten && cacheWritten > 0 && recovered["cache"] == nil)
        #expect(markdown.contains("acknowledged writes lost: \(cacheWritten), all"), "\(markdown)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: scratch)) ?? []).isEmpty)
        // The standby servers the drill started are stopped again.
        #expect(
            (try? PostgresConnection(host: "127.0.0.1", port: standbyPort, database: "app", user: "postgres", password: nil, connectTimeout: 2))
                == nil)
    }
}
