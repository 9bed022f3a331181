import Foundation

extension Repository {
    /// Forgets snapshots by removing their manifests (the commit point in reverse): the data they
    /// referenced becomes garbage for `prune`. Caller holds the lock. Durable on return.
    public func forget(ids: [String]) throws {
        for id in ids {
            let path = "\(snapshotsDirectory)/\(id).json"
            guard unlink(path) == 0 || errno == ENOENT else { throw LifeboatError.system("cannot remove", path: path) }
            CrashPoint.reach("forget-midway")
        }
        if !ids.isEmpty { try FileIO.syncDirectory(snapshotsDirectory) }
    }
}

/// Removes what no manifest references: `data/<id>/` of forgotten or never-committed snapshots,
/// leftovers in `tmp/`, and half-written manifests. Caller holds the lock, so nothing in flight is
/// touched. A kill midway leaves a repository that a later `prune` finishes.
public struct Pruner {
    public let repository: Repository

    public init(repository: Repository) {
        self.repository = repository
    }

    /// What was (or, with `dryRun`, would be) removed.
    public struct Report: Codable, Sendable {
        public var removed: [String]
        public var bytes: Int64
        public var dryRun: Bool
        enum CodingKeys: String, CodingKey {
            case removed, bytes
            case dryRun = "dry_run"
        }
    }

    public func run(dryRun: Bool) throws -> Report {
        let garbage = GarbageScan(repository: repository).run() + WALExpiry(repository: repository).expired()
        var bytes: Int64 = 0
        for relative in garbage {
            let path = repository.root + "/" + relative
            bytes += Self.size(of: path)
            if !dryRun {
                CrashPoint.reach("prune-midway")
                do {
                    try FileManager.default.removeItem(atPath: path)
                } catch {
                    throw LifeboatError(.operationFailed, "cannot remove \(path)", underlying: error)
                }
            }
        }
        if !dryRun && !garbage.isEmpty {
            for dir in [repository.dataDirectory, repository.tempDirectory, repository.snapshotsDirectory] {
                try FileIO.syncDirectory(dir)
            }
            for folder in Set(garbage.filter { $0.hasPrefix("wal/") }.map { ($0 as NSString).deletingLastPathComponent }) {
                try FileIO.syncDirectory(repository.root + "/" + folder)
            }
        }
        return Report(removed: garbage, bytes: bytes, dryRun: dryRun)
    }

    public static func size(of path: String) -> Int64 {
        var st = stat()
        guard lstat(path, &st) == 0 else { return 0 }
        if (st.st_mode & S_IFMT) != S_IFDIR { return Int64(st.st_size) }
        let children = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return children.reduce(0) { $0 + size(of: path + "/" + $1) }
    }
}
