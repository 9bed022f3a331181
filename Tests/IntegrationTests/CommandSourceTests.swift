import Foundation
import LifeboatCore
import Testing

/// The `command` source with real programs: `redis-cli --rdb -` against a password-protected
/// Redis (the password only in env_file), restored through a restore command into a second
/// server with an equal digest; children that fail midway, hang past their timeout, or write to
/// stderr only are refused with no snapshot; pre and post hooks.
@Suite(.serialized) struct CommandSourceTests {
    func snapshots(_ box: Sandbox) throws -> Int {
        (try CLI.run(["snapshots", "--repo", box.repo, "--json"]).json() as? [Any])?.count ?? -1
    }

    func policy(_ box: Sandbox, _ source: String) throws {
        try """
        repository: \(box.repo)
        sources:
          dump: {\(source)}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        if !FileManager.default.fileExists(atPath: box.repo) {
            let created = try CLI.run(["init", "--repo", box.repo])
            #expect(created.status == 0, "\(created.output)")
        }
    }

    @Test func aRedisStreamFromRedisCliRestoresThroughTheRestoreCommandWithAnEqualDigest() throws {
        let box = try Sandbox("command-redis")
        let secret = "pw-\(UUID().uuidString)"
        let server = try RedisServer(in: box.root + "/redis", extraConfig: ["requirepass \(secret)", "repl-diskless-sync-delay 0"])
        let c = try RESPClient(.tcp("127.0.0.1", server.port), timeout: 30)
        try c.authenticate(user: nil, password: secret)
        try c.expect("DEBUG", "POPULATE", "30000", "key", "24")
        try c.expect("HSET", "h", "a", "1")
        let digest = try c.expect("DEBUG", "DIGEST").text
        let restoreDir = box.root + "/restored"
        try FileManager.default.createDirectory(atPath: restoreDir, withIntermediateDirectories: true)
        try "# for redis-cli, never argv\nREDISCLI_AUTH=\(secret)\nexport RESTORE_DIR=\"\(restoreDir)\"\n"
            .write(toFile: box.root + "/dump.env", atomically: true, encoding: .utf8)
        chmod(box.root + "/dump.env", 0o600)
        try policy(
            box,
            """
            type: command, capture: ["redis-cli", "-p", "\(server.port)", "--no-auth-warning", "--rdb", "-"],
                    restore: ["sh", "-c", "cat > \\"$RESTORE_DIR/dump.rdb\\""], check: ["sh", "-c", "test -s \\"$RESTORE_DIR/dump.rdb\\""],
                    env_file: \(box.root)/dump.env, timeout: 2m
            """)
        // The password reaches redis-cli only through its environment: no argv shows it.
        let (process, out, err) = try CLI.start(["backup", "--policy", box.policy, "--json"])
        var seen = false
        while process.isRunning {
            for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where pid.allSatisfy(\.isNumber) {
                if let argv = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), String(decoding: argv, as: UTF8.self).contains(secret) {
                    seen = true
                }
            }
            usleep(10_000)
        }
        let backup = CLI.Result(status: process.terminationStatus, stdout: CLI.read(out), stderr: CLI.read(err))
        #expect(backup.status == 0, "\(backup.output)")
        #expect(!seen && !backup.output.contains(secret))
        for name in try FileManager.default.contentsOfDirectory(atPath: box.repo + "/snapshots") {
            #expect(!(try String(contentsOfFile: box.repo + "/snapshots/" + name, encoding: .utf8)).contains(secret))
        }
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0)

        // Restore without the policy: the manifest holds the restore and check commands.
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--source", "dump"])
        #expect(restore.status == 0, "\(restore.output)")
        let scratch = try RedisServer(in: restoreDir)  // loads restored/dump.rdb
        #expect(try scratch.digest() == digest)
        #expect(try scratch.client().expect("HGET", "h", "a").text == "1")
    }

    @Test func failingHangingAndSilentProgramsLeaveNoSnapshot() throws {
        let box = try Sandbox("command-fail")
        try policy(box, #"type: command, capture: ["sh", "-c", "head -c 300000 /dev/urandom; echo 'disk quota exceeded' >&2; exit 3"]"#)
        let failed = try CLI.run(["backup", "--policy", box.policy])
        #expect(failed.status == 1, "\(failed.output)")
        #expect(failed.stderr.contains("exit 3") && failed.stderr.contains("disk quota exceeded"), "\(failed.stderr)")

        // A pipeline that hangs: the whole process group is killed at the deadline.
        try policy(box, #"type: command, shell: true, capture: "sleep 60 | cat", timeout: 1s"#)
        let started = Date()
        let hung = try CLI.run(["backup", "--policy", box.policy])
        #expect(hung.status == 1, "\(hung.output)")
        #expect(hung.stderr.contains("timeout of 1s") && hung.stderr.contains("killed"), "\(hung.stderr)")
        #expect(Date().timeIntervalSince(started) < 15)

        try policy(box, #"type: command, capture: ["sh", "-c", "echo 'only this, on stderr' >&2"]"#)
        let silent = try CLI.run(["backup", "--policy", box.policy])
        #expect(silent.status == 1, "\(silent.output)")
        #expect(silent.stderr.contains("wrote nothing to stdout") && silent.stderr.contains("only this, on stderr"), "\(silent.stderr)")
        #expect(try snapshots(box) == 0)

        // A list is required without shell: true (a string would be split by nobody).
        try policy(box, #"type: command, capture: "pg_dumpall | gzip""#)
        let refused = try CLI.run(["backup", "--policy", box.policy])
        #expect(refused.status == 2 && refused.stderr.contains("policy.yaml:3") && refused.stderr.contains("shell: true"), "\(refused.output)")
    }

    @Test func preAbortsAndPostAlwaysRuns() throws {
        let box = try Sandbox("command-hooks")
        let marks = box.root + "/marks"
        try policy(
            box,
            """
            type: command, capture: ["sh", "-c", "echo data; echo captured >> \(marks)"],
                    pre: ["sh", "-c", "echo pre >> \(marks)"], post: ["sh", "-c", "echo post >> \(marks)"]
            """)
        let ok = try CLI.run(["backup", "--policy", box.policy])
        #expect(ok.status == 0, "\(ok.output)")
        #expect(try String(contentsOfFile: marks, encoding: .utf8) == "pre\ncaptured\npost\n")
        try FileManager.default.removeItem(atPath: marks)
        try policy(
            box,
            """
            type: command, capture: ["sh", "-c", "echo data; echo captured >> \(marks)"],
                    pre: ["sh", "-c", "echo pre >> \(marks); exit 4"], post: ["sh", "-c", "echo post >> \(marks)"]
            """)
        let aborted = try CLI.run(["backup", "--policy", box.policy])
        #expect(aborted.status == 1 && aborted.stderr.contains("pre command failed (exit 4"), "\(aborted.output)")
        #expect(try String(contentsOfFile: marks, encoding: .utf8) == "pre\npost\n")
        #expect(try snapshots(box) == 1)
    }

    @Test func aDrillRestoresACommandSourceIntoTheScratchTargetWithThePlansPrograms() throws {
        let box = try Sandbox("command-drill")
        let data = box.root + "/store.bin"
        try Data(Sandbox.randomBytes(2 << 20)).write(to: URL(fileURLWithPath: data))
        let production = box.root + "/production-restore-must-not-run"
        try policy(
            box,
            """
            type: command, capture: ["cat", "\(data)"], restore: ["sh", "-c", "cat > \(production)"]
            """)
        #expect(try CLI.run(["backup", "--policy", box.policy]).status == 0)
        let scratch = box.root + "/scratch/dump"
        func plan(_ name: String, compareWith: String) throws -> String {
            let path = box.root + "/\(name).yaml"
            try """
            drill: \(name)
            policy: \(box.policy)
            sources:
              dump:
                target:
                  directory: \(scratch)
                  restore: ["sh", "-c", "cat > {directory}/restored.bin"]
                  check: ["cmp", "{directory}/restored.bin", "\(compareWith)"]
            objectives:
              dump: {rto: 10m, rpo: 1h}
            """.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let ok = try CLI.run(["drill", "--plan", try plan("nightly", compareWith: data), "--report-dir", box.root + "/reports"])
        #expect(ok.status == 0, "\(ok.output)")
        let jsonPath = try #require(ok.stdout.split(separator: "\n").last.map(String.init))
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: jsonPath))) as? [String: Any])
        let checks = try #require(report["checks"] as? [[String: Any]])
        #expect(checks.contains { ($0["detail"] as? String)?.contains("check `cmp") == true }, "\(checks)")
        #expect(!FileManager.default.fileExists(atPath: production))  // the policy's restore never runs in a drill
        #expect(!FileManager.default.fileExists(atPath: scratch))  // the scratch target is removed
        try Data("other".utf8).write(to: URL(fileURLWithPath: box.root + "/other.bin"))
        let failed = try CLI.run(["drill", "--plan", try plan("wrong", compareWith: box.root + "/other.bin"), "--report-dir", box.root + "/reports"])
        #expect(failed.status == 1, "\(failed.output)")
    }
}
