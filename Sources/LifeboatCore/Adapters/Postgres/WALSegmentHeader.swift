import Foundation

/// The first page header of a WAL segment, PostgreSQL's `XLogLongPageHeaderData` (little-endian
/// on the platforms Lifeboat runs on): `xlp_magic` (2 bytes), `xlp_info` (2), `xlp_tli` (4),
/// `xlp_pageaddr` (8), `xlp_rem_len` (4, then 4 of padding), `xlp_sysid` (8), `xlp_seg_size`
/// (4), `xlp_xlog_blcksz` (4).
///
/// `xlp_pageaddr` of a segment's first page is the WAL position where the segment begins, so it
/// says which segment the file holds whatever its name. PostgreSQL writes a segment from its
/// first page on, so a recycled file reused for a later segment shows that segment's address in
/// its first page before anything else of it changes.
struct WALSegmentHeader: Equatable {
    static let size = 40
    /// `XLP_LONG_HEADER` in `xlp_info`.
    static let longHeader: UInt16 = 0x0002

    var magic: UInt16
    var info: UInt16
    var pageAddress: UInt64
    var system: UInt64
    var segmentSize: UInt32

    /// Nil unless `bytes` begin with a long page header of a format this reads (magic 0xD1xx,
    /// the long-header flag, a power-of-two segment size).
    init?(_ bytes: some Collection<UInt8>) {
        let b = Array(bytes.prefix(Self.size))
        guard b.count == Self.size else { return nil }
        func le(_ offset: Int, _ count: Int) -> UInt64 {
            b[offset..<offset + count].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }
        magic = UInt16(le(0, 2))
        info = UInt16(le(2, 2))
        pageAddress = le(8, 8)
        system = le(24, 8)
        segmentSize = UInt32(le(32, 4))
        guard magic >> 8 == 0xD1, info & Self.longHeader != 0, segmentSize >= 1 << 20, segmentSize & (segmentSize - 1) == 0 else { return nil }
    }

    /// The header of the file open as `fd`, read now.
    static func read(_ fd: Int32) -> WALSegmentHeader? {
        var bytes = [UInt8](repeating: 0, count: size)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, size, 0) }
        return n == size ? WALSegmentHeader(bytes) : nil
    }

    /// Where segment `name` (`TTTTTTTTXXXXXXXXYYYYYYYY`) begins in WAL, with segments of
    /// `segmentSize` bytes: XXXXXXXX is the high 32 bits, YYYYYYYY counts segments below them.
    static func address(of name: String, segmentSize: UInt32) -> UInt64? {
        guard name.count >= 24, let high = UInt64(name.dropFirst(8).prefix(8), radix: 16),
            let low = UInt64(name.dropFirst(16).prefix(8), radix: 16)
        else { return nil }
        return high << 32 + low * UInt64(segmentSize)
    }

    /// The segment this header's page begins, on timeline `timeline` (8 hex digits).
    func segmentName(timeline: some StringProtocol) -> String {
        let perHigh = (UInt64(1) << 32) / UInt64(segmentSize)
        let number = pageAddress / UInt64(segmentSize)
        return String(timeline.prefix(8)) + String(format: "%08X%08X", UInt32(number / perHigh), UInt32(number % perHigh))
    }
}
