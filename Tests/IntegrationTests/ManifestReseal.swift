import Foundation
import LifeboatCore
import LifeboatTestSupport

/// Damage tests on a format-1 repository: after a test edits a component's stored file, the
/// manifest is resealed to match it (every entry's SHA-256 recomputed from the edited archive,
/// the stored file's SHA-256, the manifest's checksum), so that only a check that reads the
/// content itself (`verify --deep`'s content checks) can find what was done.
enum ManifestReseal {
    /// The repository's only snapshot: its manifest (path and contents), its first component's
    /// stored file (path and bytes).
    static func onlySnapshot(in repo: String) throws -> (manifestPath: String, manifest: Manifest, file: String, data: Data) {
        let listed = try CLI.run(["snapshots", "--repo", repo, "--json"]).json() as? [[String: Any]]
        guard let id = listed?.first?["id"] as? String else { throw LifeboatError(.invalidInput, "\(repo) holds no snapshot") }
        let manifestPath = repo + "/snapshots/\(id).json"
        let manifest = try Manifest.load(Data(contentsOf: URL(fileURLWithPath: manifestPath)), path: manifestPath)
        let file = repo + "/" + manifest.components[0].file
        return (manifestPath, manifest, file, try Data(contentsOf: URL(fileURLWithPath: file)))
    }

    static func afterEditing(_ data: Data, file: String, manifest: inout Manifest, at manifestPath: String) throws {
        try data.write(to: URL(fileURLWithPath: file))
        let reader = try openArchive(file)
        var hashes: [String: String] = [:]
        while let header = try reader.next() { hashes[header.path] = try reader.readData().sha256 }
        for i in manifest.components[0].entries.indices {
            manifest.components[0].entries[i].sha256 = hashes[manifest.components[0].entries[i].path]
        }
        manifest.components[0].sha256 = SHA256Hasher.hex(of: data)
        manifest.checksum = nil
        try Data(try manifest.sealedBytes()).write(to: URL(fileURLWithPath: manifestPath))
    }
}
