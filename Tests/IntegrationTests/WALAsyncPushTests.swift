import Foundation
import LifeboatCore
import Testing

/// `wal push --async`: archive_command hands the file to a spool and returns; a detached pusher
/// stores it. What PostgreSQL relies on: exit 0 only once the file is durable in the spool or
/// the repository, a pusher killed with SIGKILL at any point loses nothing, a spool over its
/// limit fails archive_command loudly, and a failing pusher is visible.
@Suite(.serialized) struct WALAsyncPushTests {
    func name(_ n: Int) -> String { String(format: "0000000100000000000000%02X", n) }

    func status(_ spool: String) throws -> [String: Any] {
        let result = try CLI.run(["wal", "status", "--spool", spool, "--json"])
        return try #require(try result.json() as? [String: Any], "\(result.output)")
    }

    /// The archived SHA-256 of every file, by name.
    func archived(_ repo: String) throws -> [String: String] {
        let listing = try CLI.run(["wal", "list", "--repo", repo, "--json"])
        let files = try #require((try listing.json() as? [String: Any])?["files"] as? [[String: Any]], "\(listing.output)")
        return Dictionary(uniqueKeysWithValues: files.map { ($0["name"] as! String, $0["sha256"] as! String) })
    }

    /// Waits up to 60 s for `done`.
    func wait(_ what: String, _ done: () throws -> Bool) throws {
        for _ in 0..<600 {
            if try done() { return }
            usleep(100_000)
        }
        Issue.record("timed out waiting for \(what)")
    }

    /// An empty repository and a server's `pg_wal` (with `archive_status/`) in a new sandbox;
    /// the spool is `pg_wal/lifeboat-spool`, made by the first hand-over.
    func serverWAL(_ name: String) throws -> (box: Sandbox, pgWAL: String, spool: String) {
        let box = try Sandbox(name)
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        let pgWAL = box.root + "/pg_wal"
        try FileManager.default.createDirectory(atPath: pgWAL + "/archive_status", withIntermediateDirectories: true)
        return (box, pgWAL, pgWAL + "/lifeboat-spool")
    }

    /// Segments `numbers` written into `pgWAL`, and each one's SHA-256 by name.
    func segments(_ numbers: ClosedRange<Int>, in pgWAL: String) throws -> [String: String] {
        var content: [String: String] = [:]
        for n in numbers {
            try WALArchiveTests().segment(pgWAL + "/" + name(n), fill: UInt8(n))
            content[name(n)] = SHA256Hasher.hex(of: Array(try Data(contentsOf: URL(fileURLWithPath: pgWAL + "/" + name(n)))))
        }
        return content
    }

    /// Kills the spool's pusher (tests leave no process behind).
    func stopPusher(_ spool: String) {
        guard let data = FileManager.default.contents(atPath: spool + "/pusher.json"),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let pid = object["pid"] as? Int
        else { return }
        if (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8))?.contains("pusher") == true { kill(pid_t(pid), SIGKILL) }
    }

    @Test func spooledFilesReachTheRepositoryThroughKilledPushersAndReadyFilesAreStoredAhead() throws {
        let (box, pgWAL, spool) = try serverWAL("wal-async")
        defer { stopPusher(spool) }
        let content = try segments(1...8, in: pgWAL)
        func push(_ n: Int, environment: [String: String] = [:]) throws -> CLI.Result {
            try CLI.run(["wal", "push", "--async", "--repo", box.repo, pgWAL + "/" + name(n), "--json"], environment: environment)
        }

        // The pusher is killed right after its first store, before it removes the spooled file.
        let first = try push(1, environment: ["LIFEBOAT_CRASH_AT": "wal-pusher-after-store"])
        #expect(first.status == 0, "\(first.output)")
        #expect((try first.json() as? [String: Any])?["outcome"] as? String == "spooled")
        try wait("the first pusher to die") { try status(spool)["pusher_running"] as? Bool == false && (try archived(box.repo)[name(1)] != nil) }
        #expect(FileManager.default.fileExists(atPath: spool + "/" + name(1)), "still spooled: the pusher died before removing it")

        // archive_command killed before its copy is in place: a failure PostgreSQL retries, and
        // nothing half-written is queued.
        let killed = try push(2, environment: ["LIFEBOAT_CRASH_AT": "wal-spool-before-rename"])
        #expect(killed.status != 0)
        #expect(!FileManager.default.fileExists(atPath: spool + "/" + name(2)))
        for n in 2...6 { #expect(try push(n).status == 0) }

        // 7 and 8 are ready (PostgreSQL's archive_status) but not handed over: the pusher stores
        // them ahead, and archive_command for 7 then copies nothing.
        for n in 7...8 { _ = FileManager.default.createFile(atPath: pgWAL + "/archive_status/" + name(n) + ".ready", contents: nil) }
        try wait("all eight files stored") { try archived(box.repo).count == 8 && (try status(spool)["queued"] as? [Any])?.isEmpty == true }
        #expect(try archived(box.repo) == content, "each archived file has its original's SHA-256")
        try wait("7 and 8 marked as stored ahead") { try status(spool)["pushed_ahead"] as? Int == 2 }
        let ahead = try push(7)
        #expect((try ahead.json() as? [String: Any])?["outcome"] as? String == "pushed-ahead", "\(ahead.output)")
        #expect(!FileManager.default.fileExists(atPath: spool + "/" + name(7)), "nothing was copied")
        // As PostgreSQL does once archive_command succeeded:
        rename(pgWAL + "/archive_status/" + name(7) + ".ready", pgWAL + "/archive_status/" + name(7) + ".done")
        // PostgreSQL marked 8 done another way: its marker goes.
        unlink(pgWAL + "/archive_status/" + name(8) + ".ready")
        try wait("the stale marker swept") { try status(spool)["pushed_ahead"] as? Int == 0 }

        // What was stored is what PostgreSQL wrote.
        let fetched = box.root + "/RECOVERYXLOG"
        #expect(try CLI.run(["wal", "fetch", "--repo", box.repo, name(1), fetched, "--prefetch", "0"]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: fetched)) == Data(contentsOf: URL(fileURLWithPath: pgWAL + "/" + name(1))))
        let text = try CLI.run(["wal", "status", "--spool", spool])
        #expect(text.status == 0 && text.stdout.contains("waiting: nothing") && text.stdout.contains("last stored"), "\(text.output)")
    }

    /// `--link`: archive_command hard-links the segment (nothing copied), and the pusher stores it.
    /// PostgreSQL with wal_recycle = on renames an archived segment to a future name and later
    /// overwrites it: here done by hand while the test holds the pusher's lock (no pusher runs).
    /// The recycled but still intact file is copied out before it is overwritten and stored as it
    /// was; the one already reused is refused, loudly; archive_command copies from then on.
    @Test func linkedSegmentsAreStoredWithoutACopyAndRecyclingIsCaught() throws {
        let (box, pgWAL, spool) = try serverWAL("wal-async-link")
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
        defer { stopPusher(spool) }
        let content = try segments(1...4, in: pgWAL)
        func push(_ n: Int, environment: [String: String] = [:]) throws -> CLI.Result {
            try CLI.run(["wal", "push", "--async", "--link", "--repo", box.repo, pgWAL + "/" + name(n), "--json"], environment: environment)
        }
        func inode(_ path: String) -> (UInt, Int)? {
            var st = stat()
            return lstat(path, &st) == 0 ? (UInt(st.st_ino), Int(st.st_nlink)) : nil
        }

        // No pusher may start while the test holds its lock.
        let lock = open(spool + "/pusher.lock", O_RDWR | O_CREAT, 0o600)
        #expect(flock(lock, LOCK_EX | LOCK_NB) == 0)
        for n in 1...2 {
            let linked = try push(n)
            #expect(linked.status == 0, "\(linked.output)")
            #expect((try linked.json() as? [String: Any])?["outcome"] as? String == "linked", "\(linked.output)")
            #expect(inode(spool + "/" + name(n))?.0 == inode(pgWAL + "/" + name(n))?.0, "the spooled file is the segment itself")
            #expect(inode(spool + "/" + name(n))?.1 == 2)
        }
        // A checkpoint recycles both: 1 is renamed only, 2 is renamed and reused for segment 0x0A.
        #expect(rename(pgWAL + "/" + name(1), pgWAL + "/" + name(9)) == 0)
        #expect(rename(pgWAL + "/" + name(2), pgWAL + "/" + name(10)) == 0)
        /// Writes segment `n`'s first `bytes` over the file at `path`, in place, as the server does.
        func reuse(_ path: String, as n: Int, bytes: Int) throws {
            try WALArchiveTests().segment(box.root + "/" + name(n), fill: UInt8(n))
            let file = try #require(FileHandle(forWritingAtPath: path))
            file.write(try Data(contentsOf: URL(fileURLWithPath: box.root + "/" + name(n))).prefix(bytes))
            try file.close()
        }
        try reuse(pgWAL + "/" + name(10), as: 10, bytes: 1 << 20)
        close(lock)

        // The pusher starts with 3: it copies 1 out, and is killed then, before it stores anything.
        #expect(try push(3, environment: ["LIFEBOAT_CRASH_AT": "wal-pusher-after-rescue"]).status == 0)
        try wait("the pusher to copy 1 out and die") { try status(spool)["pusher_running"] as? Bool == false && inode(spool + "/" + name(1))?.1 == 1 }
        #expect(inode(spool + "/" + name(2))?.1 == 2, "2 was reused already: left as it is, for the operator")
        // The server now overwrites what 1 was renamed to: the spool keeps what 1 was.
        try reuse(pgWAL + "/" + name(9), as: 9, bytes: 16 << 20)

        // From now on archive_command copies, and says why in the server log and in wal status.
        let copied = try push(4)
        #expect(copied.status == 0)
        #expect((try copied.json() as? [String: Any])?["outcome"] as? String == "spooled", "\(copied.output)")
        #expect(copied.stderr.contains("--link is off") && copied.stderr.contains("wal_recycle = off"), "\(copied.stderr)")
        try wait("1, 3 and 4 stored, and 2 refused") {
            let failure = (try status(spool)["pusher"] as? [String: Any])?["failure"] as? [String: Any]
            return try archived(box.repo).count == 3 && failure?["name"] as? String == name(2)
        }
        let stored = try archived(box.repo)
        #expect(stored[name(1)] == content[name(1)] && stored[name(3)] == content[name(3)] && stored[name(4)] == content[name(4)])
        #expect(stored[name(2)] == nil, "a reused file is not stored under the name it no longer holds")
        let failure = try #require((try status(spool)["pusher"] as? [String: Any])?["failure"] as? [String: Any])
        let message = failure["message"] as? String ?? ""
        #expect(message.contains("now holds segment \(name(10))") && message.contains("wal_recycle"), "\(message)")

        #expect((try status(spool)["link_unsafe"] as? String)?.contains(name(1)) == true)
        let text = try CLI.run(["wal", "status", "--spool", spool])
        #expect(text.stdout.contains("--link copies:") && text.stdout.contains("failing: \(name(2))"), "\(text.output)")
    }

    @Test func aFailingPusherIsVisibleAndAFullSpoolFailsArchiveCommandLoudly() throws {
        let (box, pgWAL, spool) = try serverWAL("wal-async-full")
        defer { stopPusher(spool) }
        // The repository already holds other content under 1's name (another cluster's WAL):
        // the pusher can never store this 1.
        let other = box.root + "/other"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try WALArchiveTests().segment(other + "/" + name(1), fill: 0x42)
        #expect(try CLI.run(["wal", "push", "--repo", box.repo, other + "/" + name(1)]).status == 0)
        _ = try segments(1...2, in: pgWAL)
        let limited = ["wal", "push", "--async", "--spool-limit-mib", "16", "--repo", box.repo]
        #expect(try CLI.run(limited + [pgWAL + "/" + name(1)]).status == 0)
        try wait("the pusher to report its failure") { (try status(spool)["pusher"] as? [String: Any])?["failure"] != nil }
        let failure = try #require((try status(spool)["pusher"] as? [String: Any])?["failure"] as? [String: Any])
        #expect(failure["name"] as? String == name(1))
        #expect((failure["message"] as? String)?.contains("different content") == true)

        // The spool is full: archive_command fails and says why; 2 stays in pg_wal only.
        let full = try CLI.run(limited + [pgWAL + "/" + name(2)])
        #expect(full.status == 1, "\(full.output)")
        #expect(full.stderr.contains("limit of 16.0 MiB") && full.stderr.contains("different content"), "\(full.stderr)")
        #expect(!FileManager.default.fileExists(atPath: spool + "/" + name(2)))
        // A retry of the stuck file is accepted, and warns in the server log.
        let retry = try CLI.run(limited + [pgWAL + "/" + name(1)])
        #expect(retry.status == 0 && retry.stderr.contains("the WAL pusher of"), "\(retry.output)")

        let metrics = box.root + "/wal.prom"
        #expect(try CLI.run(["wal", "status", "--spool", spool, "--metrics-file", metrics]).status == 0)
        let text = try String(contentsOfFile: metrics, encoding: .utf8)
        #expect(text.contains("lifeboat_wal_push_failing{spool=\"\(spool)\"} 1"), "\(text)")
        #expect(text.contains("lifeboat_wal_spool_files{spool=\"\(spool)\"} 1"))
        #expect(text.contains("lifeboat_wal_spool_oldest_timestamp_seconds"))
        #expect(try Promtool.checkMetrics(metrics).isEmpty)
    }

    /// A real server archiving with --async while its pusher is killed with SIGKILL again and
    /// again: every segment reaches the repository without a gap, and a restore to the end of
    /// the archive has every committed row. Copied into the spool, and linked (`--link`, with
    /// wal_recycle = off as it requires: the pusher never sees a segment recycled).
    @Test(arguments: [false, true]) func aRealServerArchivingAsyncLosesNothingWhenItsPusherIsKilled(link: Bool) throws {
        let box = try Sandbox(link ? "wal-async-pg-link" : "wal-async-pg")
        try PostgresServer.giveToOwner(box.root)
        #expect(try CLI.runAsClusterOwner(["init", "--repo", box.repo]).status == 0)
        let server = try PostgresServer(
            in: box.root + "/pg",
            extraConfig: [
                "archive_mode = on", "archive_command = '\(CLI.binary) wal push --async \(link ? "--link " : "")--parallel 2 --repo \(box.repo) %p'",
                "archive_timeout = 1s", "wal_recycle = \(link ? "off" : "on")",
            ])
        let spool = server.dataDirectory + "/pg_wal/lifeboat-spool"
        defer { stopPusher(spool) }
        try """
        repository: \(box.repo)
        sources:
          phys: {type: postgres, host: 127.0.0.1, port: \(server.port), user: postgres, mode: physical}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        let db = try server.connect()
        try db.query("CREATE TABLE rows (id serial PRIMARY KEY, filler text)")
        let backup = try CLI.runAsClusterOwner(["backup", "--policy", box.policy])
        #expect(backup.status == 0, "\(backup.output)")

        var kills = 0
        var n = 0
        let began = Date()
        while Date().timeIntervalSince(began) < 12 {
            try db.query("INSERT INTO rows (filler) SELECT repeat('x', 500) FROM generate_series(1, 200)")
            n += 200
            if n % 1000 == 0 { try db.query("SELECT pg_switch_wal()") }
            if n % 2000 == 0, let pid = (try? status(spool))?["pusher"].flatMap({ ($0 as? [String: Any])?["pid"] as? Int }),
                (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8))?.contains("pusher") == true
            {
                kill(pid_t(pid), SIGKILL)
                kills += 1
            }
        }
        let last = try #require(try db.value("SELECT pg_walfile_name(pg_switch_wal())"))
        try wait("PostgreSQL to archive \(last) and the spool to drain") {
            let archivedByServer = try db.value("SELECT last_archived_wal FROM pg_stat_archiver") ?? ""
            let drained = try status(spool)["queued"] as? [Any]
            let stored = try archived(box.repo)[last]
            return archivedByServer >= last && drained?.isEmpty == true && stored != nil
        }
        #expect(kills >= 2, "the pusher was killed \(kills) times")
        #expect(try db.value("SELECT failed_count FROM pg_stat_archiver") == "0")
        let names = try archived(box.repo).keys.filter { $0.count == 24 }
        #expect(WALArchive.gaps(in: Array(names), segmentSize: 16 << 20).isEmpty, "\(names.sorted())")

        let port = try RedisServer.freePort()
        let datadir = box.root + "/restored"
        let restore = try CLI.runAsClusterOwner([
            "restore", "--at", "latest", "--repo", box.repo, "--source", "phys", "--to-datadir", datadir, "--port", String(port), "--start",
        ])
        defer { PostgresServer.stopRestored(datadir) }
        #expect(restore.status == 0, "\(restore.output)")
        let restored = try PostgresConnection(host: "127.0.0.1", port: port, database: "postgres", user: "postgres", password: nil)
        #expect(try restored.value("SELECT count(*) FROM rows") == String(n))
        #expect(try status(spool)["link_unsafe"] == nil)
    }
}
