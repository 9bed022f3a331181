import CArchive
import Foundation

/// Reads a stored component back: decompresses (zstd, gzip or none, detected by libarchive),
/// walks the tar entries, and hashes every stored byte on the way so that one pass proves both
/// the stored file and its entries. Failures of the stream are integrity errors.
public final class ArchiveReader {
    /// One entry's header as stored.
    public struct Header: Sendable {
        /// The path as stored, for people (see `name` for its bytes).
        public var path: String
        /// The path's bytes.
        public var name: EntryName
        /// The link target's bytes.
        public var targetName: EntryName?
        public var kind: EntryRecord.Kind?
        public var mode: UInt32
        public var mtime: Int64
        public var mtimeNanoseconds: Int64
        public var size: Int64
        public var target: String?
        public var owner: Owner

        /// The header libarchive read for `e` (directory names without their trailing slash).
        init(_ e: OpaquePointer) {
            let hardlink = archive_entry_hardlink(e)
            let kind: EntryRecord.Kind? =
                switch archive_entry_filetype(e) {
                case _ where hardlink != nil: .hardlink
                case lifeboat_ae_ifreg(): .file
                case lifeboat_ae_ifdir(): .directory
                case lifeboat_ae_iflnk(): .symlink
                default: nil
                }
            // Raw bytes: names are stored as the filesystem's bytes (hdrcharset=BINARY); older
            // archives' UTF-8 names come back as the same bytes in the UTF-8 locale.
            var bytes =
                archive_entry_pathname(e).map {
                    Array(UnsafeBufferPointer(start: UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self), count: strlen($0)))
                } ?? []
            if kind == .directory {  // tar stores directory names with a trailing slash
                while bytes.count > 1 && bytes.last == 0x2f { bytes.removeLast() }
            }
            name = EntryName(bytes: bytes)
            self.path = name.text
            targetName = (hardlink ?? archive_entry_symlink(e)).map {
                EntryName(bytes: Array(UnsafeBufferPointer(start: UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self), count: strlen($0))))
            }
            self.kind = kind
            mode = UInt32(archive_entry_perm(e))
            mtime = Int64(archive_entry_mtime(e))
            mtimeNanoseconds = Int64(archive_entry_mtime_nsec(e))
            size = archive_entry_size(e)
            target = targetName?.text
            owner = Owner(uid: UInt32(truncatingIfNeeded: archive_entry_uid(e)), gid: UInt32(truncatingIfNeeded: archive_entry_gid(e)))
        }
    }

    /// Feeds libarchive from the prefetcher, which reads and hashes the stored file ahead on its
    /// own thread; holds the chunk libarchive is reading until it asks for the next one.
    private final class Source {
        let input: any ObjectReader
        let prefetcher: StoredFilePrefetcher
        var current: StoredFilePrefetcher.Chunk?
        var error: (any Error)?
        init(input: any ObjectReader) {
            self.input = input
            prefetcher = StoredFilePrefetcher(input: input)
        }

        /// The next block for libarchive: its start and length (0 at the end, -1 on error).
        func fill() -> (UnsafeRawPointer?, Int) {
            if let current { prefetcher.recycle(current) }
            current = nil
            do {
                guard let chunk = try prefetcher.next() else { return (nil, 0) }
                current = chunk
                return (current!.buffer.withUnsafeBytes { $0.baseAddress }, chunk.count)
            } catch {
                self.error = error
                return (nil, -1)
            }
        }
    }

    private let archive: OpaquePointer
    private let source: Source
    private let path: String
    private var entry: OpaquePointer?
    private var stage: EntryDataStage?

    /// Opens a stored object for reading; `path` names it in errors.
    public init(input: any ObjectReader, path: String) throws {
        self.path = path
        ArchiveLocale.ensureUTF8()
        source = Source(input: input)
        guard let a = archive_read_new() else {
            source.prefetcher.stop()
            input.close()
            throw LifeboatError(.operationFailed, "archive_read_new failed")
        }
        archive = a
        archive_read_support_filter_zstd(a)
        archive_read_support_filter_gzip(a)
        archive_read_support_filter_none(a)
        archive_read_support_format_tar(a)
        let context = Unmanaged.passUnretained(source).toOpaque()
        let rc = archive_read_open(
            a, context, nil,
            { _, context, out in
                let source = Unmanaged<Source>.fromOpaque(context!).takeUnretainedValue()
                let (start, n) = source.fill()
                out?.pointee = start
                return la_ssize_t(n)
            }, nil)
        // Every stored property is set: from here on a throw runs deinit, which frees both.
        guard rc == ARCHIVE_OK else { throw streamError("cannot open the archive") }
    }

    deinit {
        stage?.stop()
        archive_read_free(archive)
        source.prefetcher.stop()
        source.input.close()
    }

    /// The next entry's header, or nil at the end of the archive.
    public func next() throws -> Header? {
        try Cancellation.process.check()
        var e: OpaquePointer?
        let rc = archive_read_next_header(archive, &e)
        if rc == ARCHIVE_EOF { return nil }
        guard rc == ARCHIVE_OK || rc == ARCHIVE_WARN, let e else { throw streamError("cannot read the next entry header") }
        entry = e
        return Header(e)
    }

    /// Streams the current entry's content to `body` in blocks; returns its SHA-256 and size.
    /// Entries of 1 MiB or more are hashed and consumed on a second thread (`EntryDataStage`)
    /// while this one decompresses; smaller ones inline. The holes of a sparse entry count as
    /// zeros: they reach `body` as zeros, or, with `hole`, as their lengths (the caller seeks).
    @discardableResult
    public func readData(
        _ body: (UnsafeRawBufferPointer) throws -> Void = { _ in },
        hole: ((Int64) throws -> Void)? = nil
    ) throws -> (sha256: String, size: Int64) {
        let announced = entry.map { archive_entry_size($0) } ?? 0
        guard announced >= 1 << 20, hole == nil else { return try readInline(body, hole: hole) }
        let stage = self.stage ?? EntryDataStage()
        self.stage = stage
        return try withoutActuallyEscaping(body) { consumer in
            stage.begin(consumer)
            var size: Int64 = 0
            do {
                try readBlocks(
                    size: announced,
                    hole: { length in
                        try SparseRegions.forEachZeroBlock(length) { try stage.submit($0) }
                        size += length
                    }
                ) { bytes in
                    try stage.submit(bytes)
                    size += Int64(bytes.count)
                }
            } catch {
                stage.abandon()
                throw error
            }
            return (try stage.end(), size)
        }
    }

    /// Passes over the current entry's content without hashing or handing it out.
    public func skipData() throws {
        guard archive_read_data_skip(archive) == ARCHIVE_OK else { throw streamError("cannot skip entry data") }
    }

    private func readInline(_ body: (UnsafeRawBufferPointer) throws -> Void, hole: ((Int64) throws -> Void)?) throws -> (sha256: String, size: Int64)
    {
        let hasher = SHA256Hasher()
        var size: Int64 = 0
        let announced = entry.map { archive_entry_size($0) } ?? 0
        try readBlocks(
            size: announced,
            hole: { length in
                try SparseRegions.forEachZeroBlock(length) { zeros in
                    hasher.update(zeros)
                    if hole == nil { try body(zeros) }
                }
                try hole?(length)
                size += length
            }
        ) { bytes in
            hasher.update(bytes)
            try body(bytes)
            size += Int64(bytes.count)
        }
        return (hasher.finalize(), size)
    }

    /// Decompresses the current entry's blocks in order; the holes of a sparse entry go to `hole`.
    private func readBlocks(size: Int64, hole: (Int64) throws -> Void, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try withoutActuallyEscaping(hole) { hole in
            try ArchiveDataBlocks.forEach(
                in: archive, size: size, failure: { streamError("cannot read entry data") },
                gap: { LifeboatError(.integrity, "\(path): out-of-order entry data") }, hole: hole, body)
        }
    }

    /// Reads whatever follows the end of the archive so that every stored byte is hashed, and
    /// returns the SHA-256 and size of the whole stored file.
    public func finish() throws -> (sha256: String, bytes: Int64) {
        try source.prefetcher.finish()
    }

    private func streamError(_ what: String) -> LifeboatError {
        if let error = source.error as? LifeboatError { return error }
        let text = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
        return LifeboatError(.integrity, "\(what) in \(path): \(text)")
    }
}
