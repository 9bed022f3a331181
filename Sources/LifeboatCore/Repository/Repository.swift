import Foundation

/// A directory of snapshots. Layout (docs/FORMAT.md):
/// `config.json`, `snapshots/<id>.json` (manifests), `data/<id>/<source>.<ext>` (stored
/// components), `tmp/` (in-flight writes), `lock`. A snapshot exists iff its manifest exists.
public struct Repository: Sendable {
    public let root: String

    public var configPath: String { root + "/config.json" }
    public var snapshotsDirectory: String { root + "/snapshots" }
    public var dataDirectory: String { root + "/data" }
    public var tempDirectory: String { root + "/tmp" }
    public var lockPath: String { root + "/lock" }

    /// Opens an existing repository; a directory without `config.json` is refused.
    public init(opening path: String) throws {
        root = FileIO.absolute(path)
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw LifeboatError(.invalidInput, "\(root) is not a Lifeboat repository (no config.json)",
                                fix: "create it with `lifeboat init --repo \(root)`, or point --repo at an existing repository")
        }
        let config: RepositoryConfig
        do {
            config = try JSONDecoder().decode(RepositoryConfig.self, from: data)
        } catch {
            throw LifeboatError(.integrity, "\(configPath) is damaged", underlying: error)
        }
        guard config.format == RepositoryConfig.currentFormat else {
            throw LifeboatError(.invalidInput, "\(root) has repository format \(config.format); this build reads format \(RepositoryConfig.currentFormat)")
        }
    }

    private init(root: String) { self.root = root }

    /// Creates a repository at `path`; refuses a path that exists and is not an empty directory.
    @discardableResult
    public static func create(at path: String) throws -> (Repository, RepositoryConfig) {
        let repo = Repository(root: FileIO.absolute(path))
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: repo.root, isDirectory: &isDirectory) {
            if FileManager.default.fileExists(atPath: repo.configPath) {
                throw LifeboatError(.invalidInput, "a repository already exists at \(repo.root)")
            }
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: repo.root)) ?? []
            guard isDirectory.boolValue, contents.isEmpty else {
                throw LifeboatError(.invalidInput, "\(repo.root) exists and is not an empty directory",
                                    fix: "choose a new path or an empty directory")
            }
        }
        for dir in [repo.root, repo.snapshotsDirectory, repo.dataDirectory, repo.tempDirectory] {
            try FileIO.makeDirectory(dir, mode: 0o700)
        }
        let config = RepositoryConfig(id: Hex.random(bytes: 8), created: Timestamp.rfc3339(Date()))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try FileIO.writeAtomically(Array(try encoder.encode(config)) + [0x0a], to: repo.configPath)
        try FileIO.syncDirectory((repo.root as NSString).deletingLastPathComponent)
        return (repo, config)
    }

    /// Every manifest, proved, oldest first, without entries unless `entries` (load one snapshot
    /// in full with `manifest(id:)`); manifests that fail to load come back as problems.
    public func loadSnapshots(entries: Bool = false) -> (snapshots: [Manifest], problems: [LifeboatError]) {
        var snapshots: [Manifest] = []
        var problems: [LifeboatError] = []
        for file in manifestFiles() {
            let path = snapshotsDirectory + "/" + file
            do {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw LifeboatError(.integrity, "manifest \(path) cannot be read")
                }
                let manifest = try Manifest.load(data, path: path, keepEntries: entries)
                guard manifest.id + ".json" == file else {
                    throw LifeboatError(.integrity, "manifest \(path) names id \(manifest.id)")
                }
                snapshots.append(manifest)
            } catch let error as LifeboatError {
                problems.append(error)
            } catch {
                problems.append(LifeboatError(.integrity, "manifest \(path)", underlying: error))
            }
        }
        snapshots.sort { ($0.started, $0.id) < ($1.started, $1.id) }
        return (snapshots, problems)
    }

    /// One snapshot's manifest in full (with entries), proved.
    public func manifest(id: String) throws -> Manifest {
        let path = "\(snapshotsDirectory)/\(id).json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LifeboatError(.integrity, "manifest \(path) cannot be read")
        }
        return try Manifest.load(data, path: path)
    }

    /// The names of all snapshots, from a light decode of each manifest (no entries, no proof):
    /// enough to keep a new name unique without holding every manifest in memory.
    public func snapshotNames() -> Set<String> {
        struct Header: Decodable { var name: String }
        var names = Set<String>()
        for file in manifestFiles() {
            if let data = FileManager.default.contents(atPath: snapshotsDirectory + "/" + file),
               let header = try? JSONDecoder().decode(Header.self, from: data) {
                names.insert(header.name)
            }
        }
        return names
    }

    /// Manifest file names (`<id>.json`), excluding temporaries.
    func manifestFiles() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: snapshotsDirectory)) ?? []
        return names.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted()
    }

    /// The absolute path of a component's stored file.
    public func path(of component: Manifest.Component) -> String {
        root + "/" + component.file
    }

}
