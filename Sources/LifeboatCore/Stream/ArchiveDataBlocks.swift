import CArchive

/// The one loop over libarchive's data blocks of the current entry, in order, for every reader
/// (stored components, tar streams from a pipe, raw zstd streams).
enum ArchiveDataBlocks {
    /// Hands each block to `body`; `failure` makes the error for a libarchive failure and
    /// `gap` the one for a block that does not follow the previous one. With `hole`, a block
    /// that starts after the previous one's end is a hole of a sparse entry: `hole` gets its
    /// length first, and the hole up to `size` after the last block too.
    static func forEach(
        in archive: OpaquePointer, size: Int64 = 0, failure: () -> any Error, gap: () -> any Error,
        hole: ((Int64) throws -> Void)? = nil, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var next: Int64 = 0
        var block: UnsafeRawPointer?
        var length = 0
        var offset: la_int64_t = 0
        while true {
            try Cancellation.process.check()
            let rc = archive_read_data_block(archive, &block, &length, &offset)
            if rc == ARCHIVE_EOF {
                if let hole, size > next { try hole(size - next) }
                return
            }
            guard rc == ARCHIVE_OK || rc == ARCHIVE_WARN else { throw failure() }
            if let hole, offset > next {
                try hole(offset - next)
                next = offset
            }
            guard offset == next else { throw gap() }
            try body(UnsafeRawBufferPointer(start: block, count: length))
            next += Int64(length)
        }
    }
}
