/// CRC-64/Jones as Redis uses it for RDB trailers: reflected polynomial 0xad93d23594c935a9,
/// initial value 0, no final xor. `"123456789"` → 0xe9c6d914c4b8d9ca.
public struct CRC64: Sendable {
    static let table: [UInt64] = (0..<256).map { n in
        var crc = UInt64(n)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x95AC_9329_AC4B_C9B5 : crc >> 1 }
        return crc
    }

    public private(set) var value: UInt64 = 0

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var crc = value
        Self.table.withUnsafeBufferPointer { t in
            for b in bytes { crc = t[Int((crc ^ UInt64(b)) & 0xff)] ^ (crc >> 8) }
        }
        value = crc
    }
}
