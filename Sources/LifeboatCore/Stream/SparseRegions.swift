import Foundation

/// The data regions of a file with holes, as `SEEK_DATA`/`SEEK_HOLE` report them, so a sparse
/// file is stored and restored with its holes instead of as gigabytes of zeros.
enum SparseRegions {
    /// Zeros to feed for a hole (hashed; the pax writer skips them).
    static let zeros = [UInt8](repeating: 0, count: 1 << 20)

    /// `length` zero bytes, handed to `body` in blocks of up to 1 MiB.
    static func forEachZeroBlock(_ length: Int64, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        var left = length
        while left > 0 {
            let n = Int(min(left, Int64(zeros.count)))
            try zeros.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            left -= Int64(n)
        }
    }
    /// Beyond this many data regions a file is stored dense: the sparse map would cost more than
    /// it saves.
    static let maxRegions = 4096
    /// `<unistd.h>` defines them only under _GNU_SOURCE, which Swift's Glibc module lacks.
    static let seekData: Int32 = 3, seekHole: Int32 = 4

    /// The data regions of `fd` (`size` bytes) when it has holes; nil when it is dense, when the
    /// filesystem cannot tell, or when it is too fragmented. A file that is one hole yields one
    /// empty region at its end. Leaves the file offset at 0.
    static func data(of fd: Int32, size: Int64) -> [(offset: Int64, length: Int64)]? {
        // Dense when the blocks cover the size (most files: no seeks at all), and never when the
        // file is no longer `size` bytes (its end would look like a hole: a changed file is
        // read the dense way, which flags it).
        var st = stat()
        guard size > 0, fstat(fd, &st) == 0, Int64(st.st_size) == size, Int64(st.st_blocks) * 512 < size else { return nil }
        defer { lseek(fd, 0, SEEK_SET) }
        var regions: [(offset: Int64, length: Int64)] = []
        var offset: Int64 = 0
        while offset < size {
            let data = Int64(lseek(fd, off_t(offset), seekData))
            if data < 0 {
                if errno == ENXIO { break }  // no data after offset: the rest is a hole
                return nil
            }
            if data >= size { break }
            let hole = Int64(lseek(fd, off_t(data), seekHole))
            guard hole > data else { return nil }
            regions.append((data, min(hole, size) - data))
            if regions.count > maxRegions { return nil }
            offset = hole
        }
        let dataBytes = regions.reduce(Int64(0)) { $0 + $1.length }
        guard dataBytes < size else { return nil }
        return regions.isEmpty ? [(offset: size, length: Int64(0))] : regions
    }
}
