import CArchive
import Foundation

/// Writes a component as a pax tar stream (libarchive) into a `StoredFileSink`, which compresses
/// (zstd or gzip), hashes and stores it on its own thread while this one reads and frames the
/// next entries. Hashes every entry's content as it goes and keeps the `EntryRecord`s.
public final class ArchiveWriter {
    private let archive: OpaquePointer
    private let sink: any ArchiveSink
    private let chunking: ChunkingSink?
    /// A content-defined sink starts a chunk at every entry, and also at the content of files at
    /// least this large (so their content chunks do not depend on their header).
    static let alignedFileSize: Int64 = 256 << 10
    private var buffer = [UInt8](repeating: 0, count: 1 << 20)
    private var closed = false
    /// Where the entries go (in memory unless `spoolEntries(in:)` was called).
    private(set) var entrySpool = EntrySpool()
    /// Entries written so far, in order (a writer whose entries are spooled has them in its spool).
    public var entries: [EntryRecord] { entrySpool.entries }
    /// Content bytes written so far (before compression).
    public private(set) var contentBytes: Int64 = 0
    /// Called after each chunk of content with the running content byte count.
    public var onProgress: ((Int64) -> Void)?

    /// Opens a writer that stores into `output`; `finish` commits it, a failure aborts it.
    /// `namesAsBytes: false` (a `dump` whose names are all UTF-8) leaves out pax's
    /// `hdrcharset=BINARY`, which GNU tar warns about.
    public convenience init(output: any ObjectWriter, compression: Compression, namesAsBytes: Bool = true) throws {
        try self.init(sink: try StoredFileSink(output: output, compression: compression), namesAsBytes: namesAsBytes)
    }

    /// Opens a writer into `sink`.
    init(sink: any ArchiveSink, namesAsBytes: Bool = true) throws {
        self.sink = sink
        chunking = sink as? ChunkingSink
        ArchiveLocale.ensureUTF8()
        guard let a = archive_write_new() else {
            sink.abandon()
            throw LifeboatError(.operationFailed, "archive_write_new failed")
        }
        archive = a
        // Every stored property is set: from here on a throw runs deinit, which frees both.
        // Unblocked for a sink that cuts at entry boundaries: every write reaches it in order.
        try Self.configure(a, blocked: !sink.wantsBoundaries, namesAsBytes: namesAsBytes, check: check)
        let context = Unmanaged.passUnretained(sink as AnyObject).toOpaque()
        try check(
            archive_write_open2(
                a, context, nil,
                { _, context, buffer, length in
                    let sink = Unmanaged<AnyObject>.fromOpaque(context!).takeUnretainedValue() as! any ArchiveSink
                    do {
                        try sink.write(UnsafeRawBufferPointer(start: buffer, count: length))
                        return la_ssize_t(length)
                    } catch {
                        sink.callbackError = error
                        return -1
                    }
                }, nil, nil), "open archive")
    }

    /// Spools the entries to a temporary file in `directory` instead of holding them (call
    /// before the first entry).
    func spoolEntries(in directory: String) throws {
        precondition(entrySpool.count == 0, "spoolEntries after the first entry")
        entrySpool = try EntrySpool(directory: directory)
    }

    deinit {
        if !closed { sink.abandon() }
        archive_write_free(archive)
    }

    /// The pax settings every archive of this writer uses (also the one-entry archives that
    /// write an unchanged file's header).
    private static func configure(_ a: OpaquePointer, blocked: Bool, namesAsBytes: Bool, check: (Int32, String) throws -> Void) throws {
        try check(archive_write_set_format_pax(a), "set pax format")
        // Names are stored as the filesystem's bytes (pax hdrcharset=BINARY), never converted:
        // a name that is not UTF-8 must round-trip, not be dropped.
        if namesAsBytes { try check(archive_write_set_format_option(a, "pax", "hdrcharset", "BINARY"), "store names as bytes") }
        try check(archive_write_set_bytes_per_block(a, blocked ? 256 * 1024 : 0), "set block size")
        try check(archive_write_set_bytes_in_last_block(a, 1), "set last block size")
    }

    /// Format 2: the previous snapshot of this component, whose unchanged files are not re-read.
    var parent: ParentStream?
    /// Files taken from `parent` without reading them, and their bytes.
    public private(set) var unchangedFiles = 0
    public private(set) var unchangedBytes: Int64 = 0

    /// Adds a file that `parent` holds unchanged (same size, mtime, ctime and inode) without
    /// reading it: its header is written, then the parent's content chunks are reused. False when
    /// there is no such parent entry (the caller then reads the file with `addFile`).
    func addUnchangedFile(
        name: EntryName, mode: UInt32, mtime: timespec, ctime: timespec, inode: UInt64, size: Int64,
        owner: Owner?
    ) throws -> Bool {
        guard let chunking, size >= Self.alignedFileSize,
            let (previous, ids) = parent?.unchanged(name, size: size, mtime: mtime, ctime: ctime, inode: inode),
            let lengths = chunking.plainLengths(ids),
            lengths.reduce(0, +) == Int(size + (512 - size % 512) % 512)
        else { return false }
        var record = EntryRecord(
            name: name, kind: .file, mode: mode & 0o7777, mtime: Int64(mtime.tv_sec),
            mtimeNanoseconds: Int64(mtime.tv_nsec), size: size, sha256: previous.sha256, target: nil)
        record.ctime = Int64(ctime.tv_sec)
        record.ctimeNanoseconds = Int64(ctime.tv_nsec)
        record.inode = inode
        try startEntry()
        // The header as the main archive would write it, from a one-entry archive of its own
        // (abandoned after the header, so it never writes the content's zeros).
        let header = try headerBytes(record, owner: owner)
        try header.withUnsafeBytes { try sink.write($0) }
        try sink.boundary()
        record.chunks = [chunking.chunkCount, ids.count]
        try chunking.splice(ids, lengths: lengths)
        try entrySpool.append(record)
        contentBytes += size
        unchangedFiles += 1
        unchangedBytes += size
        onProgress?(contentBytes)
        return true
    }

    private func headerBytes(_ record: EntryRecord, owner: Owner?) throws -> [UInt8] {
        guard let a = archive_write_new() else { throw LifeboatError(.operationFailed, "archive_write_new failed") }
        defer { archive_write_free(a) }
        let collector = HeaderCollector()
        try Self.configure(a, blocked: false, namesAsBytes: true) { rc, what in
            guard rc == ARCHIVE_OK else { throw LifeboatError(.operationFailed, "cannot \(what) for a header") }
        }
        let context = Unmanaged.passUnretained(collector).toOpaque()
        guard
            archive_write_open2(
                a, context, nil,
                { _, context, buffer, length in
                    let collector = Unmanaged<HeaderCollector>.fromOpaque(context!).takeUnretainedValue()
                    if collector.open, let buffer { collector.bytes += UnsafeRawBufferPointer(start: buffer, count: length) }
                    return la_ssize_t(length)
                }, nil, nil) == ARCHIVE_OK
        else { throw LifeboatError(.operationFailed, "cannot open a header archive") }
        let entry = try Self.makeEntry(record, type: lifeboat_ae_ifreg(), owner: owner, sparse: [])
        defer { archive_entry_free(entry) }
        guard archive_write_header(a, entry) == ARCHIVE_OK else { throw LifeboatError(.operationFailed, "cannot write a header for \(record.path)") }
        collector.open = false
        archive_write_fail(a)
        return collector.bytes
    }

    /// Format 2: the first content chunk of the last entry while its range is open (closed at the
    /// next entry).
    private var openRange: Int?

    /// Ends the previous entry (its padding) and starts a chunk; closes its chunk range.
    private func startEntry() throws {
        guard sink.wantsBoundaries else { return }
        // Every entry starts a chunk: the previous entry's padding first, then the cut, so an
        // unchanged entry makes the same chunks whatever changed around it.
        guard archive_write_finish_entry(archive) == ARCHIVE_OK else { throw failure("finish the previous entry") }
        try sink.boundary()
        if let first = openRange, let chunking {
            entrySpool.setLastChunks([first, chunking.chunkCount - first])  // the entry with the open range is the last
            openRange = nil
        }
    }

    /// Adds a directory entry.
    public func addDirectory(path: String, mode: UInt32, mtime: timespec, owner: Owner? = nil) throws {
        try addDirectory(name: EntryName(path), mode: mode, mtime: mtime, owner: owner)
    }

    /// Adds a directory entry named by bytes.
    public func addDirectory(name: EntryName, mode: UInt32, mtime: timespec, owner: Owner? = nil) throws {
        let record = EntryRecord(
            name: name, kind: .directory, mode: mode & 0o7777,
            mtime: Int64(mtime.tv_sec), mtimeNanoseconds: Int64(mtime.tv_nsec), target: nil)
        try writeHeader(record, type: lifeboat_ae_ifdir(), owner: owner)
        try entrySpool.append(record)
    }

    /// Adds a symbolic link entry.
    public func addSymlink(path: String, target: String, mode: UInt32, mtime: timespec, owner: Owner? = nil) throws {
        try addSymlink(name: EntryName(path), target: EntryName(target), mode: mode, mtime: mtime, owner: owner)
    }

    /// Adds a symbolic link entry whose name and target are bytes.
    public func addSymlink(name: EntryName, target: EntryName, mode: UInt32, mtime: timespec, owner: Owner? = nil) throws {
        let record = EntryRecord(
            name: name, kind: .symlink, mode: mode & 0o7777,
            mtime: Int64(mtime.tv_sec), mtimeNanoseconds: Int64(mtime.tv_nsec), target: target)
        try writeHeader(record, type: lifeboat_ae_iflnk(), owner: owner)
        try entrySpool.append(record)
    }

    /// Adds a hard link: `name` is another name of the earlier file entry `target`.
    public func addHardlink(name: EntryName, target: EntryName, mode: UInt32, mtime: timespec, owner: Owner? = nil) throws {
        let record = EntryRecord(
            name: name, kind: .hardlink, mode: mode & 0o7777,
            mtime: Int64(mtime.tv_sec), mtimeNanoseconds: Int64(mtime.tv_nsec), target: target)
        try writeHeader(record, type: lifeboat_ae_ifreg(), owner: owner)
        try entrySpool.append(record)
    }

    /// Adds a regular file whose `size` bytes are read from `fd`. A file that shrinks while it is
    /// read is padded with zeros and one that grows is cut at `size` (tar headers carry the size
    /// first); either way `changed` is reported and the recorded hash matches what was stored.
    /// A file with holes (`SEEK_HOLE`) is stored sparse (pax GNU sparse 1.0): only its data
    /// regions are read and stored, its holes hash as the zeros they read as.
    @discardableResult
    public func addFile(
        path: String, mode: UInt32, mtime: timespec, size: Int64, from fd: Int32,
        sourcePath: String, owner: Owner? = nil
    ) throws -> (record: EntryRecord, changed: Bool) {
        try addFile(name: EntryName(path), mode: mode, mtime: mtime, size: size, from: fd, sourcePath: sourcePath, owner: owner)
    }

    /// `addFile` for an entry named by bytes.
    @discardableResult
    public func addFile(
        name: EntryName, mode: UInt32, mtime: timespec, size: Int64, from fd: Int32,
        sourcePath: String, owner: Owner? = nil, ctime: timespec? = nil, inode: UInt64? = nil
    ) throws -> (record: EntryRecord, changed: Bool) {
        var record = EntryRecord(
            name: name, kind: .file, mode: mode & 0o7777,
            mtime: Int64(mtime.tv_sec), mtimeNanoseconds: Int64(mtime.tv_nsec), size: size, target: nil)
        if chunking != nil, size >= Self.alignedFileSize, let ctime, let inode {  // what a later backup compares
            record.ctime = Int64(ctime.tv_sec)
            record.ctimeNanoseconds = Int64(ctime.tv_nsec)
            record.inode = inode
        }
        let regions = SparseRegions.data(of: fd, size: size)
        if regions != nil { record.sparse = true }
        try writeHeader(record, type: lifeboat_ae_ifreg(), owner: owner, sparse: regions ?? [])
        if sink.wantsBoundaries && size >= Self.alignedFileSize {
            try sink.boundary()  // content-only chunks, reusable by a later backup (`addUnchangedFile`)
            if let chunking { openRange = chunking.chunkCount }
        }
        let hasher = SHA256Hasher()
        var changed = false
        var position: Int64 = 0
        for region in regions ?? [(offset: 0, length: size)] {
            try writeZeros(region.offset - position, hasher: hasher)  // a hole: pax skips it
            position = region.offset
            var left = region.length
            while left > 0 {
                let want = Int(min(Int64(buffer.count), left))
                var got = try buffer.withUnsafeMutableBytes {
                    try FileIO.read(
                        fd, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want]), at: regions == nil ? nil : position, path: sourcePath)
                }
                if got == 0 {  // shrank while being read: pad with zeros
                    changed = true
                    for i in 0..<want { buffer[i] = 0 }
                    got = want
                }
                try buffer.withUnsafeBytes { try writeData(UnsafeRawBufferPointer(rebasing: $0[0..<got]), hasher: hasher) }
                left -= Int64(got)
                position += Int64(got)
            }
        }
        try writeZeros(size - position, hasher: hasher)  // a trailing hole
        if let regions {
            if SparseRegions.data(of: fd, size: size).map({ $0.elementsEqual(regions, by: ==) }) != true { changed = true }
        } else if !changed {
            var probe: UInt8 = 0
            if Glibc.read(fd, &probe, 1) > 0 { changed = true }
        }
        record.sha256 = hasher.finalize()
        try entrySpool.append(record)
        return (record, changed)
    }

    /// Adds a regular file of exactly `size` bytes whose content `produce` pushes through the
    /// function it is given (a socket, a child's stdout). Pushing more or fewer bytes than `size`
    /// is an error: tar headers carry the size first.
    @discardableResult
    public func addStream(
        path: String, size: Int64, mode: UInt32 = 0o600, mtime: timespec, owner: Owner? = nil,
        produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws -> EntryRecord {
        try addStream(name: EntryName(path), size: size, mode: mode, mtime: mtime, owner: owner, produce: produce)
    }

    /// `addStream` for an entry named by bytes.
    @discardableResult
    public func addStream(
        name: EntryName, size: Int64, mode: UInt32 = 0o600, mtime: timespec, owner: Owner? = nil,
        produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws -> EntryRecord {
        let path = name.text
        var record = EntryRecord(
            name: name, kind: .file, mode: mode, mtime: Int64(mtime.tv_sec),
            mtimeNanoseconds: Int64(mtime.tv_nsec), size: size, target: nil)
        try writeHeader(record, type: lifeboat_ae_ifreg(), owner: owner)
        if sink.wantsBoundaries && size >= Self.alignedFileSize {
            try sink.boundary()  // content-only chunks: a delta restore need not fetch them
            if let chunking { openRange = chunking.chunkCount }
        }
        let hasher = SHA256Hasher()
        var written: Int64 = 0
        try produce { bytes in
            guard written + Int64(bytes.count) <= size else {
                throw LifeboatError(.operationFailed, "\(path): the source sent more than the \(size) bytes it announced")
            }
            try writeData(bytes, hasher: hasher)
            written += Int64(bytes.count)
        }
        guard written == size else {
            throw LifeboatError(.operationFailed, "\(path): the source sent \(written) of the \(size) bytes it announced")
        }
        record.sha256 = hasher.finalize()
        try entrySpool.append(record)
        return record
    }

    /// Adds a small regular file from memory (metadata a source adapter records alongside its data).
    @discardableResult
    public func addBytes(path: String, _ bytes: [UInt8], mode: UInt32 = 0o644, mtime: timespec) throws -> EntryRecord {
        var record = EntryRecord(
            path: path, kind: .file, mode: mode, mtime: Int64(mtime.tv_sec),
            mtimeNanoseconds: Int64(mtime.tv_nsec), size: Int64(bytes.count))
        try writeHeader(record, type: lifeboat_ae_ifreg(), owner: nil)
        let hasher = SHA256Hasher()
        try bytes.withUnsafeBytes { try writeData($0, hasher: hasher) }
        record.sha256 = hasher.finalize()
        try entrySpool.append(record)
        return record
    }

    /// Closes the tar stream and the compressor, waits for the storage thread, and returns the
    /// SHA-256 and size of the stored bytes. The caller fsyncs and closes the file.
    public func finish() throws -> (sha256: String, bytes: Int64) {
        closed = true
        do {
            try startEntry()  // the last entry's padding and chunk range; the trailer in a chunk of its own
        } catch {
            sink.abandon()
            throw error
        }
        guard archive_write_close(archive) == ARCHIVE_OK else {
            let message = errorText()
            sink.abandon()
            throw LifeboatError(.operationFailed, "cannot finish the stored archive: \(message)")
        }
        return try sink.finish()
    }

    /// `count` zero bytes of content: hashed, and skipped by the pax writer inside a hole.
    private func writeZeros(_ count: Int64, hasher: SHA256Hasher) throws {
        try SparseRegions.forEachZeroBlock(count) { try writeData($0, hasher: hasher) }
    }

    private func writeData(_ bytes: UnsafeRawBufferPointer, hasher: SHA256Hasher) throws {
        hasher.update(bytes)
        var offset = 0
        while offset < bytes.count {
            let n = archive_write_data(archive, bytes.baseAddress! + offset, bytes.count - offset)
            guard n > 0 else { throw failure("write entry data") }
            offset += n
        }
        contentBytes += Int64(bytes.count)
        onProgress?(contentBytes)
    }

    private func writeHeader(_ record: EntryRecord, type: UInt32, owner: Owner?, sparse: [(offset: Int64, length: Int64)] = []) throws {
        try startEntry()
        let entry = try Self.makeEntry(record, type: type, owner: owner, sparse: sparse)
        defer { archive_entry_free(entry) }
        let rc = archive_write_header(archive, entry)
        guard rc == ARCHIVE_OK else { throw failure("write header for \(record.path)") }
    }

    private static func makeEntry(_ record: EntryRecord, type: UInt32, owner: Owner?, sparse: [(offset: Int64, length: Int64)]) throws
        -> OpaquePointer
    {
        guard let entry = archive_entry_new() else { throw LifeboatError(.operationFailed, "archive_entry_new failed") }
        record.name.withCString { archive_entry_set_pathname(entry, $0) }
        archive_entry_set_filetype(entry, type)
        archive_entry_set_perm(entry, mode_t(record.mode))
        archive_entry_set_mtime(entry, time_t(record.mtime), Int(record.mtimeNanoseconds))
        archive_entry_set_size(entry, record.size)
        if record.kind == .hardlink {
            record.targetName?.withCString { archive_entry_set_hardlink(entry, $0) }
        } else {
            record.targetName?.withCString { archive_entry_set_symlink(entry, $0) }
        }
        for region in sparse { archive_entry_sparse_add_entry(entry, region.offset, region.length) }
        if let owner {
            archive_entry_set_uid(entry, la_int64_t(owner.uid))
            archive_entry_set_gid(entry, la_int64_t(owner.gid))
        }
        return entry
    }

    private func check(_ rc: Int32, _ what: String) throws {
        guard rc == ARCHIVE_OK else { throw failure(what) }
    }

    private func failure(_ what: String) -> LifeboatError {
        if let error = sink.callbackError as? LifeboatError { return error }
        if let error = sink.callbackError { return LifeboatError(.operationFailed, "cannot \(what) in the stored archive: \(error)") }
        return LifeboatError(.operationFailed, "cannot \(what) in the stored archive: \(errorText())")
    }

    private func errorText() -> String {
        archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
    }
}

/// Collects the bytes a one-entry header archive writes, until closed.
private final class HeaderCollector {
    var bytes: [UInt8] = []
    var open = true
}

/// Numeric owner of a filesystem object, restored only when running as root.
public struct Owner: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    public init(uid: UInt32, gid: UInt32) {
        self.uid = uid
        self.gid = gid
    }
}
