import Foundation
import LifeboatCore
import Testing

/// #13 item 1 and the long-path part of item 12: names are bytes; deep trees are walked.
@Suite struct FileNameBytesTests {
    /// Every object below `root` as `relative-path-bytes(hex) kind size sha256 target(hex)`, by python3
    /// (bytes API, so nothing is re-encoded), one line each, sorted.
    static func describe(_ root: String) throws -> [String] {
        let script = """
            import os, sys, hashlib
            root = os.fsencode(sys.argv[1]); out = []
            for d, dirs, files in os.walk(root):
                for n in dirs + files:
                    p = os.path.join(d, n); rel = os.path.relpath(p, root).hex(); st = os.lstat(p)
                    if os.path.islink(p): out.append(rel + " l " + os.readlink(p).hex())
                    elif os.path.isdir(p): out.append(rel + " d")
                    else: out.append(rel + " f " + hashlib.sha256(open(p, 'rb').read()).hexdigest() + " " + oct(st.st_mode & 0o7777))
            print("\\n".join(sorted(out)))
            """
        return try runPython(script, [root]).split(separator: "\n").map(String.init)
    }

    static func runPython(_ script: String, _ args: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + args
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return String(decoding: data, as: UTF8.self)
    }

    @Test func item1_namesThatAreNotUTF8RoundTripByteForByte() throws {
        let box = try Sandbox("names")
        try box.file("plain.txt", Array("ok\n".utf8))
        _ = try Self.runPython(
            """
            import os, sys
            s = os.fsencode(sys.argv[1])
            os.makedirs(s + b'/dir-\\xff')
            for i in range(3): open(s + b'/dir-\\xff/f%d' % i, 'wb').write(b'x' * (i + 1))
            open(s + b'/latin1-\\xe9\\xff.txt', 'wb').write(b'latin1')
            os.symlink(b'target-\\xfe', s + b'/link-\\xfd')
            """, [box.source])
        try CLI.run(["init", "--repo", box.repo])
        let backup = try CLI.run(["backup", "--policy", box.policy, "--json"])
        #expect(backup.status == 0, "\(backup.output)")
        #expect(!backup.stderr.contains("vanished"), "\(backup.output)")
        let summary = try #require(try backup.json() as? [String: Any])
        #expect((summary["components"] as? [[String: Any]])?.first?["entries"] as? Int == 8)
        let show = try CLI.run(["show", "latest", "--repo", box.repo, "--json"])
        #expect(show.stdout.contains("dir-\\\\xff") && show.stdout.contains("\"path_hex\""), "escaped in JSON, bytes beside")
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0)
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--to", box.root + "/out"])
        #expect(restore.status == 0, "\(restore.output)")
        let before = try Self.describe(box.source)
        let after = try Self.describe(box.root + "/out")
        #expect(before.count == 7)
        #expect(before == after)
    }

    @Test func item12_pathsLongerThanPATH_MAXAreBackedUp() throws {
        let box = try Sandbox("long")
        // 30 levels of 200-byte names: 6,000+ bytes, beyond PATH_MAX (4096).
        _ = try Self.runPython(
            """
            import os, sys
            fd = os.open(sys.argv[1], os.O_RDONLY)
            for i in range(30):
                n = ('d%02d' % i) + 'x' * 197
                os.mkdir(n, dir_fd=fd); nfd = os.open(n, os.O_RDONLY, dir_fd=fd); os.close(fd); fd = nfd
            f = os.open('deep.txt', os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd); os.write(f, b'deep'); os.close(f)
            """, [box.source])
        try CLI.run(["init", "--repo", box.repo])
        let backup = try CLI.run(["backup", "--policy", box.policy, "--json"])
        #expect(backup.status == 0, "\(backup.output)")
        let summary = try #require(try backup.json() as? [String: Any])
        #expect((summary["components"] as? [[String: Any]])?.first?["entries"] as? Int == 32)
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0)
    }
}
