/// One blob compressed on its own and back: a format-2 chunk is stored as one zstd or gzip
/// stream (or as is), so any blob can be read without its neighbours. zstd goes through
/// libzstd's one-shot API (`ZstdBlob`), gzip through zlib's streaming deflater.
enum BlobCodec {
    static func compress(_ bytes: UnsafeRawBufferPointer, _ compression: Compression) throws -> [UInt8] {
        if case .zstd(let level) = compression { return try ZstdBlob.compress(bytes, level: level) }
        guard let compressor = try compression.makeCompressor() else { return Array(bytes) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count / 2)
        try compressor.compress(bytes) { out.append(contentsOf: $0) }
        try compressor.finish { out.append(contentsOf: $0) }
        return out
    }

    /// The plaintext of a stored blob; `.integrity` when it does not decompress to `length` bytes.
    static func decompress(_ stored: [UInt8], codec: PackFile.Codec, length: Int, what: String) throws -> [UInt8] {
        switch codec {
        case .none:
            guard stored.count == length else { throw LifeboatError(.integrity, "\(what) is \(stored.count) bytes, the index says \(length)") }
            return stored
        case .zstd:
            return try ZstdBlob.decompress(stored, length: length, what: what)
        case .gzip:
            var out: [UInt8] = []
            out.reserveCapacity(length)
            try RawStream.decompress(BytesReader(stored), path: what) { block in
                guard out.count + block.count <= length else { throw LifeboatError(.integrity, "\(what) expands beyond its \(length) bytes") }
                out.append(contentsOf: block)
            }
            guard out.count == length else { throw LifeboatError(.integrity, "\(what) expands to \(out.count) bytes, the index says \(length)") }
            return out
        }
    }
}
