import Foundation
import Testing

@testable import LifeboatCore

@Suite struct RedisFormatTests {
    @Test func crc64JonesMatchesTheCheckValue() {
        var crc = CRC64()
        Array("123456789".utf8).withUnsafeBytes { crc.update($0) }
        #expect(crc.value == 0xe9c6_d914_c4b8_d9ca)
    }

    /// A minimal valid RDB: header, EOF opcode, CRC-64 trailer (little-endian).
    static func rdb(version: String = "0010", body: [UInt8] = [0xFA] + Array("\u{09}redis-ver\u{06}7.0.15".utf8)) -> [UInt8] {
        var bytes = Array("REDIS\(version)".utf8) + body + [0xFF]
        var crc = CRC64()
        bytes.withUnsafeBytes { crc.update($0) }
        for i in 0..<8 { bytes.append(UInt8((crc.value >> (8 * UInt64(i))) & 0xff)) }
        return bytes
    }

    func validate(_ bytes: [UInt8], chunk: Int) throws -> RDBValidator {
        let v = RDBValidator()
        var i = 0
        while i < bytes.count {
            let end = min(bytes.count, i + chunk)
            try bytes[i..<end].withUnsafeBytes { try v.consume($0) }
            i = end
        }
        try v.finish()
        return v
    }

    @Test(arguments: [1, 3, 7, 8, 9, 64, 4096])
    func aValidRDBPassesWhateverTheChunking(chunk: Int) throws {
        let v = try validate(Self.rdb(), chunk: chunk)
        #expect(v.version == 10)
        #expect(!v.checksumDisabled)
    }

    @Test func flippedTruncatedAndForeignDataAreRefused() {
        var flipped = Self.rdb()
        flipped[12] ^= 0x04
        #expect(throws: LifeboatError.self) { try validate(flipped, chunk: 5) }
        #expect(throws: LifeboatError.self) { try validate(Array(Self.rdb().dropLast(3)), chunk: 5) }
        #expect(throws: LifeboatError.self) { try validate(Array("PK\u{03}\u{04}not an rdb at all".utf8), chunk: 5) }
        #expect(throws: LifeboatError.self) { try validate(Array("REDIS0010".utf8), chunk: 5) }
    }

    @Test func aZeroTrailerMeansChecksumsWereOff() throws {
        var bytes = Self.rdb()
        for i in (bytes.count - 8)..<bytes.count { bytes[i] = 0 }
        #expect(try validate(bytes, chunk: 16).checksumDisabled)
    }

    @Test func serverVersionsMapToTheRDBVersionsTheyRead() {
        #expect(RedisRestore.maxRDBVersion(serverVersion: "Redis server v=7.0.15 sha=0") == 10)
        #expect(RedisRestore.maxRDBVersion(serverVersion: "Redis server v=7.2.4 sha=0") == 11)
        #expect(RedisRestore.maxRDBVersion(serverVersion: "Redis server v=7.4.1 sha=0") == 12)
        #expect(RedisRestore.maxRDBVersion(serverVersion: "Redis server v=6.2.14 sha=0") == 9)
    }

    @Test func infoParsing() {
        let info = RedisInfo(
            "# Persistence\r\nloading:0\r\nrdb_saves:3\r\n\r\n# Keyspace\r\ndb0:keys=200000,expires=0,avg_ttl=0\r\ndb3:keys=5,expires=1,avg_ttl=10\r\n"
        )
        #expect(info["loading"] == "0")
        #expect(info.int("rdb_saves") == 3)
        #expect(info.keyspace == ["db0": 200_000, "db3": 5])
    }
}
