import Foundation

/// Checks an RDB file as it streams by: the `REDIS` magic and a 4-digit version, then the
/// CRC-64/Jones of everything before the 8-byte little-endian trailer (from version 5). Part of
/// `RDBCheck`; a CRC of 0 means the server had checksums off (accepted, with a note).
public final class RDBValidator: EntryContentCheck {
    private var crc = CRC64()
    private var header: [UInt8] = []
    private var tail: [UInt8] = []  // the last 8 bytes seen, held out of the CRC
    private var total: Int64 = 0
    /// The RDB format version from the header, once 9 bytes were seen.
    public private(set) var version: Int?
    /// Set when the trailer was 0 (checksums disabled on the server).
    public private(set) var checksumDisabled = false

    public init() {}

    public func consume(_ bytes: UnsafeRawBufferPointer) throws {
        if header.count < 9 {
            header += bytes.prefix(9 - header.count)
            if header.count == 9 {
                guard Array(header.prefix(5)) == Array("REDIS".utf8),
                    let v = Int(String(decoding: header.suffix(4), as: UTF8.self))
                else {
                    throw LifeboatError(.integrity, "not an RDB file (no REDIS magic and version)")
                }
                version = v
            }
        }
        total += Int64(bytes.count)
        // Feed all but the last 8 bytes of (tail + bytes) to the CRC.
        if bytes.count >= 8 {
            tail.withUnsafeBytes { crc.update($0) }
            crc.update(UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - 8)]))
            tail = Array(bytes.suffix(8))
        } else {
            var window = tail + Array(bytes)
            let spill = window.count - 8
            if spill > 0 {
                window.withUnsafeBytes { crc.update(UnsafeRawBufferPointer(rebasing: $0[0..<spill])) }
                window.removeFirst(spill)
            }
            tail = window
        }
    }

    public func finish() throws {
        guard let version, total >= 9 + 1 else { throw LifeboatError(.integrity, "RDB is truncated (\(total) bytes)") }
        guard version >= 5 else { return }  // the trailer came with version 5 (Redis 2.6)
        guard total >= 9 + 1 + 8 else { throw LifeboatError(.integrity, "RDB is truncated (\(total) bytes)") }
        let stored = tail.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        if stored == 0 {
            checksumDisabled = true
            return
        }
        guard stored == crc.value else {
            throw LifeboatError(
                .integrity, String(format: "RDB checksum mismatch: trailer %016llx, content %016llx (corrupted or truncated)", stored, crc.value))
        }
    }
}
