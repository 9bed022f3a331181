import Foundation
import LifeboatCore
import Testing

/// Ctrl-C (SIGINT) and a service manager's stop (SIGTERM) during a backup: the command stops,
/// cleans up what it started, and exits 130 or 143. Against the real servers: a files backup on
/// disk, a multipart upload to Ceph RGW, a PostgreSQL logical dump, a Chroma directory copy.
@Suite(.serialized) struct InterruptTests {
    /// Waits until `path` (a command's stderr) contains `text`.
    static func wait(for text: String, in path: String, seconds: Double = 60) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let content = try? String(contentsOfFile: path, encoding: .utf8), content.contains(text) { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    /// Starts `arguments`, waits for `ready` on its stderr (or `after` seconds), sends `signal`,
    /// and returns its exit status and stderr.
    static func interrupt(
        _ arguments: [String], environment: [String: String] = [:], ready: String? = nil, after: Double = 1.5,
        signal: Int32
    ) throws -> (status: Int32, stderr: String) {
        let (process, out, err) = try CLI.start(arguments, environment: environment)
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        if let ready {
            #expect(wait(for: ready, in: err), "never reached: \(ready)")
        } else {
            Thread.sleep(forTimeInterval: after)
        }
        #expect(process.isRunning, "the command ended before the signal")
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        _ = CLI.read(out)
        return (process.terminationStatus, CLI.read(err))
    }

    /// Processes whose command line contains every one of `words`.
    static func processes(matching words: [String]) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { pid in
            guard Int(pid) != nil, let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
            let line = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            return words.allSatisfy { line.contains($0) } ? line : nil
        }
    }

    func snapshotCount(_ repo: String, environment: [String: String] = [:]) throws -> Int {
        (try CLI.run(["snapshots", "--repo", repo, "--json"], environment: environment).json() as? [Any])?.count ?? -1
    }

    @Test(arguments: [SIGINT, SIGTERM])
    func aFilesBackupStopsCleanlyAndLeavesNoTemporaries(signal: Int32) throws {
        let box = try Sandbox("interrupt-files")
        for i in 0..<6 { try box.file("part-\(i).txt", Array(Data(Sandbox.randomBytes(3 << 20)).base64EncodedData())) }
        #expect(try CLI.run(["init", "--repo", box.repo, "--format", "2"]).status == 0)
        let (status, stderr) = try Self.interrupt(["backup", "--policy", box.policy, "--compression", "zstd:19"], signal: signal)
        #expect(status == (signal == SIGINT ? 130 : 143), "\(stderr)")
        #expect(stderr.contains(signal == SIGINT ? "interrupted" : "SIGTERM"), "\(stderr)")
        #expect(try snapshotCount(box.repo) == 0)
        let tmp = (try? FileManager.default.contentsOfDirectory(atPath: box.repo + "/tmp")) ?? []
        #expect(tmp.isEmpty, "temporaries left: \(tmp)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: box.repo + "/locks")) ?? []).isEmpty, "the lock was released")
        #expect(try CLI.run(["verify", "--repo", box.repo]).status == 0)
        #expect(try CLI.run(["backup", "--policy", box.policy]).status == 0)
    }

    @Test func aMultipartUploadToS3IsAbortedOnSIGINT() throws {
        let rgw = RGWServer.shared
        let box = try Sandbox("interrupt-s3")
        try box.file("blob.bin", Sandbox.randomBytes(24 << 20))
        let location = rgw.newRepository("interrupt")
        try "repository: \(location)\ns3: {part_size_mib: 5}\nsources:\n  cfg: {type: files, path: \(box.source)}\n"
            .write(toFile: box.policy, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["init", "--repo", location, "--format", "1"], environment: rgw.environment).status == 0)
        let (status, stderr) = try Self.interrupt(
            ["backup", "--policy", box.policy],
            environment: rgw.environment.merging(["LIFEBOAT_PAUSE_AT": "s3-part-upload:3"]) { _, new in new },
            ready: "paused at s3-part-upload", signal: SIGINT)
        #expect(status == 130, "\(stderr)")
        let storage = try rgw.storage(location)
        #expect(try storage.incompleteWrites().isEmpty, "an unfinished multipart upload was left open")
        #expect(try storage.list("locks/").isEmpty, "the lock was released")
        #expect(try snapshotCount(location, environment: rgw.environment) == 0)
    }

    @Test func aPostgresDumpIsStoppedWithItsChildOnSIGINT() throws {
        let box = try Sandbox("interrupt-pg")
        let server = try PostgresServer(in: box.root + "/pg")
        try server.pgbench(database: "app", scale: 10)
        try """
        repository: \(box.repo)
        sources:
          db: {type: postgres, host: 127.0.0.1, port: \(server.port), database: app, user: postgres, mode: logical}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        // zstd:19 keeps the dump running for many seconds (pg_dump waits on its pipe).
        let (status, stderr) = try Self.interrupt(["backup", "--policy", box.policy, "--compression", "zstd:19"], after: 2.5, signal: SIGINT)
        #expect(status == 130, "\(stderr)")
        Thread.sleep(forTimeInterval: 0.5)
        #expect(Self.processes(matching: ["pg_dump", String(server.port)]).isEmpty, "pg_dump was left running")
        #expect(try snapshotCount(box.repo) == 0)
        #expect(try CLI.run(["verify", "--repo", box.repo]).status == 0)
    }

    @Test func aChromaDirectoryBackupStartsChromaAgainOnSIGTERM() throws {
        let box = try Sandbox("interrupt-chroma")
        let server = try ChromaServer(in: box.root + "/chroma")
        try server.populate(collection: "docs", count: 2000, space: "cosine", seed: 1)
        try """
        repository: \(box.repo)
        sources:
          vectors: {type: chroma, path: \(server.persistDirectory), url: "\(server.url)", stop: "\(server.stopCommand)", start: "\(server.startCommand)"}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        let (status, stderr) = try Self.interrupt(
            ["backup", "--policy", box.policy], environment: ["LIFEBOAT_PAUSE_AT": "service-stopped:3"],
            ready: "paused at service-stopped", signal: SIGTERM)
        #expect(status == 143, "\(stderr)")
        #expect(server.isServing, "Chroma was left stopped")
        #expect(try server.counts()["docs"] == 2000)
        #expect(try snapshotCount(box.repo) == 0)
    }
}
