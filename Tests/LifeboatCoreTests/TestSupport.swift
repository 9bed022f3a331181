import Foundation
import LifeboatTestSupport

@testable import LifeboatCore

/// A fresh directory under /tmp, removed when the value is deinitialised.
final class ScratchDirectory {
    let path: String
    init(_ label: String = "t") {
        path = NSTemporaryDirectory() + "lifeboat-\(label)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ relative: String, _ text: String) {
        let full = path + "/" + relative
        try! FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try! Data(text.utf8).write(to: URL(fileURLWithPath: full))
    }
}

/// Runs a program and returns its stdout; used to get an independent opinion (sha256sum).
func runTool(_ path: String, _ arguments: [String]) throws -> String {
    try runProgram(path, arguments).stdout
}

/// Writes entries with an `ArchiveWriter` into `path` and returns the stored digest and entries.
func writeArchive(
    at path: String, compression: Compression,
    _ body: (ArchiveWriter) throws -> Void
) throws -> (sha256: String, bytes: Int64, entries: [EntryRecord]) {
    unlink(path)
    let storage = DiskStorage(root: (path as NSString).deletingLastPathComponent)
    let writer = try ArchiveWriter(output: try storage.writer((path as NSString).lastPathComponent), compression: compression)
    try body(writer)
    let stored = try writer.finish()
    return (stored.sha256, stored.bytes, writer.entries)
}

let epochTime = timespec(tv_sec: 1_700_000_000, tv_nsec: 123_456_789)
