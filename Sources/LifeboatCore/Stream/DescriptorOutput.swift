import Foundation

/// An `ObjectWriter` onto an open file descriptor (stdout for `dump`): what an `ArchiveWriter`
/// writes goes straight out, hashed as it passes. `commit` only reports the digest; the caller
/// owns the descriptor.
final class DescriptorOutput: ObjectWriter {
    private let fd: Int32
    private let name: String
    private let stored = StoredBytesDigest()

    init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try FileIO.writeAll(fd, bytes, path: name)
        stored.update(bytes)
    }

    func commit() throws -> StoredDigest { stored.finish() }

    func abort() {}
}
