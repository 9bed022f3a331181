import CArchive
import Foundation

/// Reads a plain tar stream that another program writes to a pipe (`pg_basebackup -Ft -D -`),
/// entry by entry, without seeking. Failures name the producing program.
public final class TarStreamReader {
    private let archive: OpaquePointer
    private let producer: String

    /// Reads from `fd` (owned by the caller), written by `producer`.
    public init(fd: Int32, producer: String) throws {
        self.producer = producer
        ArchiveLocale.ensureUTF8()
        guard let a = archive_read_new() else { throw LifeboatError(.operationFailed, "archive_read_new failed") }
        archive = a
        archive_read_support_filter_none(a)
        archive_read_support_format_tar(a)
        guard archive_read_open_fd(a, fd, 1 << 20) == ARCHIVE_OK else { throw failure("cannot open the tar stream") }
    }

    deinit { archive_read_free(archive) }

    /// The next entry's header, or nil at the end of the stream.
    public func next() throws -> ArchiveReader.Header? {
        var e: OpaquePointer?
        let rc = archive_read_next_header(archive, &e)
        if rc == ARCHIVE_EOF { return nil }
        guard rc == ARCHIVE_OK || rc == ARCHIVE_WARN, let e else { throw failure("cannot read the next entry header") }
        return ArchiveReader.Header(e)
    }

    /// Streams the current entry's content to `body` in blocks.
    public func readData(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try ArchiveDataBlocks.forEach(
            in: archive, failure: { failure("cannot read entry data") },
            gap: { LifeboatError(.operationFailed, "\(producer): sparse entry data is not supported") }, body)
    }

    private func failure(_ what: String) -> LifeboatError {
        let text = archive_error_string(archive).map { String(cString: $0) } ?? "unexpected end of stream"
        return LifeboatError(.operationFailed, "\(what) from \(producer): \(text)")
    }
}
