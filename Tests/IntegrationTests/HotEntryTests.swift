import Foundation
import Testing

/// archive_command's `wal push` and restore_command's `wal fetch` are read from argv without
/// ArgumentParser (`HotEntry`, 6 ms of every segment's 16). What users rely on: such a line means
/// exactly what ArgumentParser makes of it, and anything else (errors, help, unusual spellings)
/// is left to ArgumentParser.
@Suite struct HotEntryTests {
    struct Readings {
        var hot: [String: Any]?
        var full: [String: Any]?
        var error: String?
    }

    func readings(_ line: [String]) throws -> Readings {
        let result = try CLI.run(["debug", "parse", "--"] + line)
        let object = try #require(try result.json() as? [String: Any], "\(result.output)")
        return Readings(hot: object["hot"] as? [String: Any], full: object["full"] as? [String: Any], error: object["error"] as? String)
    }

    static let path = "/srv/pg/pg_wal/000000010000000000000007"

    /// The forms docs/sources/postgres.md gives archive_command and restore_command, and their
    /// spellings.
    @Test(arguments: [
        ["wal", "push", "--repo", "/r", path],
        ["wal", "push", "--async", "--repo", "/r", path],
        ["wal", "push", "--async", "--link", "--parallel", "2", "--repo", "/r", path],
        ["wal", "push", "--repo=/r", "--json", path],
        ["wal", "push", path, "--repo", "s3://b/p", "--key-file", "/k", "--private-key", "/x.key", "-v"],
        ["wal", "push", "-q", "--async", "--spool", "/s", "--spool-limit-mib", "64", "--metrics-file", "/m.prom", "--repo", "/r", path],
        ["wal", "fetch", "--repo", "/r", "000000010000000000000007", "pg_wal/RECOVERYXLOG"],
        ["wal", "fetch", "--repo=s3://b/p", "--key-file", "/k", "--prefetch", "0", "00000002.history", "pg_wal/RECOVERYHISTORY", "-v"],
    ])
    func archiveCommandLinesAreReadAsArgumentParserReadsThem(line: [String]) throws {
        let r = try readings(line)
        let hot = try #require(r.hot, "read without ArgumentParser: \(line)")
        let full = try #require(r.full, "\(r.error ?? "")")
        func text(_ o: [String: Any]) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self)
        }
        #expect(try text(hot) == text(full))
    }

    /// Lines HotEntry leaves alone: ArgumentParser reads them (or refuses them, with its message).
    @Test(arguments: [
        (["wal", "push", "--repo", "/r", "--repo", "/r2", path], false),  // repeated: ArgumentParser keeps the last
        (["wal", "push", "-qv", "--repo", "/r", path], false),
        (["wal", "push", "--async", "--parallel", "0", "--repo", "/r", path], true),
        (["wal", "push", "--link", "--repo", "/r", path], true),
        (["wal", "push", "--parallel", "two", "--repo", "/r", path], true),
        (["wal", "push", "--repo", "/r", path, path], true),
        (["wal", "push", "--unknown", "--repo", "/r", path], true),
        (["wal", "push", "--json=yes", "--repo", "/r", path], true),
        (["wal", "push", "--repo", "/r"], true),
        (["wal", "fetch", "--repo", "/r", "--prefetch", "65", "000000010000000000000007", "/tmp/x"], true),
        (["wal", "fetch", "--repo", "/r", "000000010000000000000007"], true),
        (["wal", "fetch", "--async", "--repo", "/r", "000000010000000000000007", "/tmp/x"], true),
        (["wal", "list", "--repo", "/r"], false),
    ])
    func otherLinesAreLeftToArgumentParser(line: [String], refused: Bool) throws {
        let r = try readings(line)
        #expect(r.hot == nil, "\(line)")
        #expect((r.error != nil) == refused, "\(r.error ?? "accepted")")
    }

    @Test func hotLinesBehaveAsCommands() throws {
        // A failure on the direct way is reported as on the usual one: message, fix, exit code.
        let box = try Sandbox("hot-entry")
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        let missing = try CLI.run(["wal", "push", "--repo", box.repo, box.root + "/000000010000000000000001", "--json"])
        #expect(missing.status == 1, "\(missing.output)")
        #expect(missing.stderr.contains("cannot open") && missing.stdout.contains("\"error\""), "\(missing.output)")
        let name = try CLI.run(["wal", "push", "--repo", box.repo, box.root + "/not-a-wal-name"])
        #expect(name.status == 2 && name.stderr.contains("is not a WAL file name"), "\(name.output)")
    }
}
