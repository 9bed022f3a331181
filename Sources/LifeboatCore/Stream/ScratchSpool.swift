import Foundation

/// A stream of unknown length written to the repository's scratch directory first (a tar
/// header needs the size), then stored as one archive entry from there; the file is removed
/// when the spool goes away. Used by the Redis diskless transfer, the `command` source, and
/// `dump` (an entry's content is written out only once it is proven).
final class ScratchSpool {
    let path: String
    private let fd: Int32
    private(set) var size: Int64 = 0

    init(directory: String, name: String) throws {
        path = "\(directory)/\(name)-\(Hex.random(bytes: 4)).spool"
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LifeboatError.system("cannot create", path: path) }
    }

    deinit {
        close(fd)
        unlink(path)
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try FileIO.writeAll(fd, bytes, path: path)
        size += Int64(bytes.count)
    }

    /// Stores everything written as entry `entry`.
    func store(into writer: ArchiveWriter, entry: String, mode: UInt32 = 0o600, mtime: timespec) throws {
        lseek(fd, 0, SEEK_SET)
        _ = try writer.addStream(path: entry, size: size, mode: mode, mtime: mtime) { push in
            try FileIO.forEachChunk(fd, path: path, push)
        }
    }

    /// Copies everything written to `output` (a file descriptor: stdout for `dump`).
    func copy(to output: Int32, path outputPath: String) throws {
        lseek(fd, 0, SEEK_SET)
        _ = try FileIO.forEachChunk(fd, path: path) { try FileIO.writeAll(output, $0, path: outputPath) }
    }
}
