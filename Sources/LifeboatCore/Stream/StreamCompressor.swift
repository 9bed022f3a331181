/// A streaming compressor that runs on the storage thread: bytes in, compressed blocks out.
protocol StreamCompressor: AnyObject {
    /// Compresses `input`, handing every produced block to `emit`.
    func compress(_ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws
    /// Flushes what is left and ends the compressed stream.
    func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws
}

extension GzipDeflater: StreamCompressor {}

extension Compression {
    /// The compressor for this setting, or nil for `none`.
    func makeCompressor() throws -> (any StreamCompressor)? {
        switch self {
        case .zstd(let level): return try ZstdCompressor(level: level)
        case .gzip(let level): return try GzipDeflater(level: level)
        case .none: return nil
        }
    }
}
