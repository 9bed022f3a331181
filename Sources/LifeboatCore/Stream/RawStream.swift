import CArchive
import Foundation

/// A single file compressed as one zstd stream, without tar around it (WAL segments): written
/// through `ZstdCompressor`, read back through libarchive's `raw` format with the zstd filter.
public enum RawStream {
    /// Compresses everything readable from `input` into `output`; returns the SHA-256 and size
    /// of the uncompressed content and the size written.
    public static func compress(
        from input: Int32, inputPath: String, to output: any ObjectWriter,
        level: Int = 3
    ) throws -> (sha256: String, bytes: Int64, stored: Int64) {
        let compressor = try ZstdCompressor(level: level)
        let hasher = SHA256Hasher()
        var stored: Int64 = 0
        let emit: (UnsafeRawBufferPointer) throws -> Void = { block in
            try output.write(block)
            stored += Int64(block.count)
        }
        let bytes = try FileIO.forEachChunk(input, path: inputPath) { chunk in
            hasher.update(chunk)
            try compressor.compress(chunk, emit: emit)
        }
        try compressor.finish(emit: emit)
        return (hasher.finalize(), bytes, stored)
    }

    /// Decompresses the file at `path`, handing the content to `body` in blocks; returns the
    /// content's SHA-256 and size. A damaged stream is `.integrity`.
    @discardableResult
    public static func decompress(
        _ input: any ObjectReader, path: String,
        _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> (sha256: String, bytes: Int64) {
        guard let a = archive_read_new() else { throw LifeboatError(.operationFailed, "archive_read_new failed") }
        defer { archive_read_free(a) }
        archive_read_support_filter_zstd(a)
        archive_read_support_filter_gzip(a)
        archive_read_support_format_raw(a)
        let source = ObjectSource(input)
        func failure(_ what: String) -> LifeboatError {
            if let error = source.error as? LifeboatError { return error }
            let text = archive_error_string(a).map { String(cString: $0) } ?? "unknown error"
            return LifeboatError(.integrity, "\(what) \(path): \(text)")
        }
        let context = Unmanaged.passUnretained(source).toOpaque()
        let opened = archive_read_open(
            a, context, nil,
            { _, context, out in
                let source = Unmanaged<ObjectSource>.fromOpaque(context!).takeUnretainedValue()
                let n = source.fill()
                out?.pointee = source.start
                return la_ssize_t(n)
            }, nil)
        guard opened == ARCHIVE_OK else { throw failure("cannot open") }
        var entry: OpaquePointer?
        guard archive_read_next_header(a, &entry) == ARCHIVE_OK else { throw failure("cannot read") }
        let hasher = SHA256Hasher()
        var total: Int64 = 0
        try ArchiveDataBlocks.forEach(
            in: a, failure: { failure("cannot decompress") },
            gap: { LifeboatError(.integrity, "\(path): unexpected gap in the stream") }
        ) { bytes in
            hasher.update(bytes)
            try body(bytes)
            total += Int64(bytes.count)
        }
        return (hasher.finalize(), total)
    }
}

/// Feeds libarchive from an `ObjectReader`, one buffer at a time.
private final class ObjectSource {
    let input: any ObjectReader
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    var error: (any Error)?
    init(_ input: any ObjectReader) { self.input = input }
    var start: UnsafeRawPointer? { buffer.withUnsafeBytes { $0.baseAddress } }
    func fill() -> Int {
        do {
            return try buffer.withUnsafeMutableBytes { try input.read(into: $0) }
        } catch {
            self.error = error
            return -1
        }
    }
}
