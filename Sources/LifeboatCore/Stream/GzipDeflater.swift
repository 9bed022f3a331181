import CZlib

/// Streaming gzip (RFC 1952) compression with zlib; owns one heap-allocated `z_stream`
/// (zlib keeps a back-pointer to it, so it must not move).
final class GzipDeflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private var output = [UInt8](repeating: 0, count: 256 * 1024)

    init(level: Int) throws {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let rc = lifeboat_deflate_init_gzip(stream, Int32(level))
        guard rc == Z_OK else {
            stream.deallocate()
            throw LifeboatError(.operationFailed, "zlib deflateInit2 failed with code \(rc)")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses `input`, handing every produced block to `emit`.
    func compress(_ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let base = input.baseAddress, input.count > 0 else { return }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        try run(flush: Z_NO_FLUSH, emit: emit)
    }

    /// Flushes the rest and writes the gzip trailer.
    func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        try run(flush: Z_FINISH, emit: emit)
    }

    private func run(flush: Int32, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        let capacity = output.count
        while true {
            let (rc, produced): (Int32, Int) = output.withUnsafeMutableBytes { out in
                stream.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(capacity)
                let rc = deflate(stream, flush)
                return (rc, capacity - Int(stream.pointee.avail_out))
            }
            guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR else {
                throw LifeboatError(.operationFailed, "zlib deflate failed with code \(rc)")
            }
            if produced > 0 { try output.withUnsafeBytes { try emit(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) } }
            if flush == Z_FINISH {
                if rc == Z_STREAM_END { return }
            } else if stream.pointee.avail_in == 0 && produced < capacity {
                return
            }
        }
    }
}
