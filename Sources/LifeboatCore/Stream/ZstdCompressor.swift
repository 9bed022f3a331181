import CArchive

/// Streaming zstd compression through libarchive's zstd filter on a `raw`-format handle (one
/// headerless entry), so that zstd runs on the storage thread, single-threaded, with small,
/// fixed buffers: about 4 MB at level 3, where zstd's own worker threads would take 50–90 MB.
final class ZstdCompressor {
    /// Collects what libarchive hands its write callback during one call.
    private final class Output {
        var emit: ((UnsafeRawBufferPointer) throws -> Void)?
        var error: (any Error)?
    }

    private let archive: OpaquePointer
    private let output = Output()

    init(level: Int) throws {
        guard let a = archive_write_new() else { throw LifeboatError(.operationFailed, "archive_write_new failed") }
        archive = a
        func check(_ rc: Int32, _ what: String) throws {
            guard rc == ARCHIVE_OK else {
                let text = archive_error_string(a).map { String(cString: $0) } ?? "unknown error"
                throw LifeboatError(.operationFailed, "zstd: cannot \(what): \(text)")
            }
        }
        do {
            try check(archive_write_set_format_raw(a), "set raw format")
            try check(archive_write_add_filter_zstd(a), "add zstd filter")
            try check(archive_write_set_filter_option(a, "zstd", "compression-level", "\(level)"), "set level \(level)")
            try check(archive_write_set_bytes_per_block(a, 256 * 1024), "set block size")
            try check(archive_write_set_bytes_in_last_block(a, 1), "set last block size")
            let context = Unmanaged.passUnretained(output).toOpaque()
            try check(
                archive_write_open2(
                    a, context, nil,
                    { _, context, buffer, length in
                        let output = Unmanaged<Output>.fromOpaque(context!).takeUnretainedValue()
                        do {
                            guard let emit = output.emit else {  // output outside compress/finish would be lost
                                throw LifeboatError(.operationFailed, "zstd produced output outside a write")
                            }
                            try emit(UnsafeRawBufferPointer(start: buffer, count: length))
                            return la_ssize_t(length)
                        } catch {
                            output.error = error
                            return -1
                        }
                    }, nil, nil), "open")
            guard let entry = archive_entry_new() else { throw LifeboatError(.operationFailed, "archive_entry_new failed") }
            defer { archive_entry_free(entry) }
            archive_entry_set_pathname(entry, "stream")
            archive_entry_set_filetype(entry, lifeboat_ae_ifreg())
            try check(archive_write_header(a, entry), "start stream")
        }  // a throw above runs deinit (every stored property is set), which frees the handle
    }

    deinit { archive_write_free(archive) }

    func compress(_ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let base = input.baseAddress, input.count > 0 else { return }
        try withEmitter(emit) {
            var offset = 0
            while offset < input.count {
                let n = archive_write_data(archive, base + offset, input.count - offset)
                guard n > 0 else { throw failure("compress") }
                offset += n
            }
        }
    }

    func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        try withEmitter(emit) {
            guard archive_write_close(archive) == ARCHIVE_OK else { throw failure("finish") }
        }
    }

    /// Lends `emit` (non-escaping) to the C callback for the duration of `body`.
    private func withEmitter(_ emit: (UnsafeRawBufferPointer) throws -> Void, _ body: () throws -> Void) throws {
        try withoutActuallyEscaping(emit) { escapable in
            output.emit = escapable
            defer { output.emit = nil }
            try body()
        }
    }

    private func failure(_ what: String) -> any Error {
        if let error = output.error { return error }
        let text = archive_error_string(archive).map { String(cString: $0) } ?? "unknown error"
        return LifeboatError(.operationFailed, "zstd: cannot \(what): \(text)")
    }
}

extension ZstdCompressor: StreamCompressor {}
