import Foundation
import LifeboatCore
import LifeboatTestSupport

/// Damage tests on a format-1 repository: after a test edits a component's stored file, the
/// manifest is resealed to match it (every entry's SHA-256 recomputed from the edited archive,
/// the stored file's SHA-256, the manifest's checksum), so that only a check that reads the
/// content itself (`verify --deep`'s content checks) can find what was done.
enum ManifestReseal {
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
