import Foundation
import LifeboatCore

/// A scratch area with a source tree, a policy and a repository, removed afterwards.
final class Sandbox {
    let root: String
    var source: String { root + "/src" }
    var repo: String { root + "/repo" }
    var policy: String { root + "/policy.yaml" }

    init(_ label: String) throws {
        root = NSTemporaryDirectory() + "lifeboat-it-\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root + "/src", withIntermediateDirectories: true)
        try """
        repository: \(root)/repo
        sources:
          cfg: {type: files, path: \(root)/src}
        schedules:
          daily: {cron: "0 2 * * *"}
        """.write(toFile: policy, atomically: true, encoding: .utf8)
    }

    /// Removes the tree; `rm -rf` when Foundation cannot (paths longer than PATH_MAX).
    deinit {
        try? FileManager.default.removeItem(atPath: root)
        if FileManager.default.fileExists(atPath: root) { _ = try? ChildProcess.run(["/bin/rm", "-rf", root], in: "/") }
    }

    /// Rewrites the policy: the repository (this sandbox's, or `repository`, with an `s3:` map
    /// when given), the one `cfg` files source on the source tree (plus `extraSources`), and
    /// `schedules` (YAML lines, e.g. `hourly: {cron: "0 * * * *"}`).
    func writePolicy(schedules: [String], extraSources: [String] = [], repository: String? = nil, s3: String? = nil) throws {
        let sources = (["cfg: {type: files, path: \(source)}"] + extraSources).map { "  " + $0 }.joined(separator: "\n")
        try
            "repository: \(repository ?? repo)\n\(s3.map { "s3: \($0)\n" } ?? "")sources:\n\(sources)\nschedules:\n\(schedules.map { "  " + $0 }.joined(separator: "\n"))\n"
            .write(toFile: policy, atomically: true, encoding: .utf8)
    }

    /// Restores the newest snapshot of `location` into `root/restored` and says whether it came
    /// back equal to the source tree (the restore's own output when it failed).
    func restoresLatestAsTheSource(_ location: String, environment: [String: String]) throws -> (ok: Bool, output: String) {
        let restored = root + "/restored"
        let restore = try CLI.run(["restore", "--repo", location, "latest", "--to", restored], environment: environment)
        guard restore.status == 0 else { return (false, restore.output) }
        return (try Sandbox.describeTree(restored) == Sandbox.describeTree(source), restore.output)
    }

    /// Writes `bytes` at `relative` under the source tree with `mode`.
    func file(_ relative: String, _ bytes: [UInt8], mode: Int = 0o644) throws {
        let path = source + "/" + relative
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        chmod(path, mode_t(mode))
    }

    /// A tree with what config directories hold: nested dirs, modes, symlinks, dotfiles, odd names.
    func populateConfigTree() throws {
        try file("app.yaml", Array("port: 8080\n".utf8))
        try file(".env.production", Array("DATABASE_URL=postgres://app@db/app\n".utf8), mode: 0o600)
        try file("bin/start.sh", Array("#!/bin/sh\nexec app\n".utf8), mode: 0o755)
        try file("grafana-dashboards/ünïcode dash.json", Array("{}".utf8))
        try file("empty.conf", [])
        try file("data/random.bin", Self.randomBytes(2_500_000))
        try file("data/deep/er/still/text.log", Array(String(repeating: "GET /health 200\n", count: 40_000).utf8), mode: 0o640)
        try FileManager.default.createDirectory(atPath: source + "/empty-dir", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: source + "/current.yaml", withDestinationPath: "app.yaml")
        try FileManager.default.createSymbolicLink(atPath: source + "/dangling", withDestinationPath: "/nonexistent/target")
        try FileManager.default.createSymbolicLink(atPath: source + "/bin/up", withDestinationPath: "..")
        var times = [timespec(tv_sec: 1_600_000_000, tv_nsec: 987_654_321), timespec(tv_sec: 1_600_000_000, tv_nsec: 987_654_321)]
        utimensat(AT_FDCWD, source + "/app.yaml", &times, 0)
        chmod(source + "/empty-dir", 0o700)
    }

    /// Incompressible bytes, read from the kernel in one go.
    static func randomBytes(_ count: Int) -> [UInt8] {
        let handle = FileHandle(forReadingAtPath: "/dev/urandom")!
        defer { try? handle.close() }
        return Array(handle.readData(ofLength: count))
    }

    /// Everything `lstat` and the content say about each object below `root`, keyed by path.
    static func describeTree(_ root: String) throws -> [String: String] {
        var result: [String: String] = [:]
        func visit(_ relative: String) throws {
            let path = relative.isEmpty ? root : root + "/" + relative
            var st = stat()
            guard lstat(path, &st) == 0 else { throw LifeboatError.system("lstat", path: path) }
            let mode = String(st.st_mode & 0o7777, radix: 8)
            let time = "\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                result[relative.isEmpty ? "." : relative] = "dir \(mode) \(time)"
                for name in try FileManager.default.contentsOfDirectory(atPath: path) {
                    try visit(relative.isEmpty ? name : relative + "/" + name)
                }
            case S_IFLNK:
                let target = try FileManager.default.destinationOfSymbolicLink(atPath: path)
                result[relative] = "link -> \(target) \(time)"
            default:
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                result[relative] = "file \(mode) \(time) \(data.count) \(SHA256Hasher.hex(of: data))"
            }
        }
        try visit("")
        return result
    }
}
