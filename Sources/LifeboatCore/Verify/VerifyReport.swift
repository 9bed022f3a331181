/// The outcome of `verify`, as printed with `--json`.
public struct VerifyReport: Codable, Sendable {
    /// One integrity failure.
    public struct Problem: Codable, Sendable, Equatable {
        public var snapshot: String?
        public var id: String?
        public var component: String?
        public var message: String
    }

    /// One snapshot's result.
    public struct SnapshotResult: Codable, Sendable {
        public var id: String
        public var name: String
        public var ok: Bool
        public var components: Int
        public var bytes: Int64
    }

    /// True when no problem was found (garbage does not count).
    public var ok: Bool
    public var deep: Bool
    /// `--read-data-subset`: what was read.
    public var dataSubset: SubsetResult?
    public var snapshots: [SnapshotResult]
    public var problems: [Problem]
    /// Leftovers of interrupted runs, relative to the repository: not corruption; `prune` removes them.
    public var garbage: [String]
    /// Set when a writer holds the lock: its in-flight files are listed as garbage meanwhile.
    public var writerActive: String?
    /// The PostgreSQL WAL archive, when the repository has one.
    public var wal: WALResult?
    /// Things a person should know that are not damage (data without snapshots, snapshots
    /// forgotten while verify ran).
    public var warnings: [String] = []
    /// Ids of snapshots a concurrent `forget` removed while verify ran (not problems).
    public var forgottenMeanwhile: [String] = []
    /// Object Lock repositories: how many objects' locks were checked against what their
    /// snapshots need (nil elsewhere).
    public var locksChecked: Int?

    /// What `--read-data-subset N/M` read: packs of the subset that verified snapshots need, and
    /// the chunks in them proved.
    public struct SubsetResult: Codable, Sendable {
        public var subset: String
        public var packs: Int
        public var packsInRepository: Int
        public var chunks: Int
        public var storedBytes: Int64

        enum CodingKeys: String, CodingKey {
            case subset, packs, chunks
            case packsInRepository = "packs_in_repository"
            case storedBytes = "stored_bytes"
        }
    }

    /// What `verify` found in the WAL archive: its size, and with `--deep` every file's content
    /// checked against the SHA-256 in its name. Gaps and damage are also `problems`.
    public struct WALResult: Codable, Sendable {
        public var files: Int
        public var storedBytes: Int64
        public var checked: Int
        public var gaps: [String]
        enum CodingKeys: String, CodingKey {
            case files, checked, gaps
            case storedBytes = "stored_bytes"
        }
    }

    enum CodingKeys: String, CodingKey {
        case ok, deep, snapshots, problems, garbage, wal, warnings
        case writerActive = "writer_active"
        case forgottenMeanwhile = "forgotten_meanwhile"
        case dataSubset = "data_subset"
        case locksChecked = "locks_checked"
    }
}
