import Foundation
import LifeboatCore

/// Opens the stored archive (a format-1 component file) at `path` for reading, as restore and
/// verify read it.
public func openArchive(_ path: String) throws -> ArchiveReader {
    let storage = DiskStorage(root: (path as NSString).deletingLastPathComponent)
    guard let input = try storage.reader((path as NSString).lastPathComponent) else {
        throw LifeboatError(.integrity, "\(path) is missing")
    }
    return try ArchiveReader(input: input, path: path)
}
