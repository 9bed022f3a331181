import CZstd
import Foundation

/// One blob as one zstd frame, through libzstd's one-shot API: the whole chunk is in memory, so
/// zstd sizes its tables to it (a 10 KiB chunk gets small ones) and nothing is copied through
/// stream buffers. Contexts are kept and reused, as zstd's manual advises for many small jobs;
/// at most one per thread that compresses or decompresses at once.
enum ZstdBlob {
    static func compress(_ bytes: UnsafeRawBufferPointer, level: Int) throws -> [UInt8] {
        let bound = ZSTD_compressBound(bytes.count)
        return try contexts.withCompressor { cctx in
            try [UInt8](unsafeUninitializedCapacity: bound) { out, count in
                let n = ZSTD_compressCCtx(cctx, out.baseAddress, bound, bytes.baseAddress, bytes.count, Int32(level))
                if ZSTD_isError(n) != 0 {
                    count = 0
                    throw LifeboatError(.operationFailed, "zstd: cannot compress \(bytes.count) bytes at level \(level): \(errorName(n))")
                }
                count = n
            }
        }
    }

    /// The `length` bytes that `stored` (one or more zstd frames) holds; `.integrity` when it
    /// is damaged or does not expand to exactly `length` bytes.
    static func decompress(_ stored: [UInt8], length: Int, what: String) throws -> [UInt8] {
        try contexts.withDecompressor { dctx in
            // One byte of room more than expected, so that a blob longer than the index says is
            // told apart from one that fits exactly.
            try [UInt8](unsafeUninitializedCapacity: length + 1) { out, count in
                let n = stored.withUnsafeBytes { ZSTD_decompressDCtx(dctx, out.baseAddress, length + 1, $0.baseAddress, $0.count) }
                count = 0
                if ZSTD_isError(n) != 0 {
                    let reason =
                        ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall
                        ? "expands beyond its \(length) bytes" : "does not decompress: \(errorName(n))"
                    throw LifeboatError(.integrity, "\(what) \(reason)")
                }
                guard n == length else { throw LifeboatError(.integrity, "\(what) expands to \(n) bytes, the index says \(length)") }
                count = n
            }
        }
    }

    private static func errorName(_ code: Int) -> String { String(cString: ZSTD_getErrorName(code)) }

    private static let contexts = Contexts()

    /// Idle contexts, handed to one caller at a time.
    private final class Contexts: @unchecked Sendable {
        private let lock = NSLock()
        private var compressors: [OpaquePointer] = []
        private var decompressors: [OpaquePointer] = []

        func withCompressor<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
            let cctx = try take(&compressors) { ZSTD_createCCtx() }
            defer { give(cctx, to: &compressors) }
            return try body(cctx)
        }

        func withDecompressor<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
            let dctx = try take(&decompressors) { ZSTD_createDCtx() }
            defer { give(dctx, to: &decompressors) }
            return try body(dctx)
        }

        private func take(_ idle: inout [OpaquePointer], make: () -> OpaquePointer?) throws -> OpaquePointer {
            lock.lock()
            let reused = idle.popLast()
            lock.unlock()
            if let reused { return reused }
            guard let made = make() else { throw LifeboatError(.operationFailed, "zstd: cannot allocate a context") }
            return made
        }

        private func give(_ context: OpaquePointer, to idle: inout [OpaquePointer]) {
            lock.lock()
            idle.append(context)
            lock.unlock()
        }
    }
}
