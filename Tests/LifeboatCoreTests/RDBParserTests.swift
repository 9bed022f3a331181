import Foundation
import Testing

@testable import LifeboatCore

/// Builds RDB files byte by byte, the way `rdbSave*` writes them.
struct RDBBuilder {
    var bytes: [UInt8]

    init(version: Int = 10) {
        bytes = Array("REDIS".utf8) + Array(String(format: "%04d", version).utf8)
        aux("redis-ver", "7.0.15")
    }

    static func length(_ n: Int) -> [UInt8] {
        switch n {
        case ..<64: return [UInt8(n)]
        case ..<16384: return [0x40 | UInt8(n >> 8), UInt8(n & 0xff)]
        default: return [0x80, UInt8(n >> 24 & 0xff), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)]
        }
    }

    static func string(_ s: [UInt8]) -> [UInt8] { length(s.count) + s }
    static func string(_ s: String) -> [UInt8] { string(Array(s.utf8)) }

    /// A listpack of string elements (6-bit or 12-bit lengths) and small integers.
    static func listpack(_ elements: [String]) -> [UInt8] {
        var body: [UInt8] = []
        for element in elements {
            var entry: [UInt8]
            if let v = Int(element), (0...127).contains(v) {
                entry = [UInt8(v)]
            } else {
                let b = Array(element.utf8)
                entry = b.count < 64 ? [0x80 | UInt8(b.count)] + b : [0xe0 | UInt8(b.count >> 8), UInt8(b.count & 0xff)] + b
            }
            let l = entry.count
            let back: [UInt8] = l <= 127 ? [UInt8(l)] : [UInt8(l >> 7), UInt8(l & 127) | 128]
            body += entry + back
        }
        let total = 6 + body.count + 1
        return [
            UInt8(total & 0xff), UInt8(total >> 8 & 0xff), UInt8(total >> 16 & 0xff), UInt8(total >> 24),
            UInt8(elements.count & 0xff), UInt8(elements.count >> 8),
        ] + body + [0xff]
    }

    mutating func aux(_ key: String, _ value: String) { bytes += [0xfa] + Self.string(key) + Self.string(value) }
    mutating func select(_ db: Int) { bytes += [0xfe] + Self.length(db) }
    mutating func expire(ms: Int64) { bytes += [0xfc] + (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: ms) >> (8 * UInt64($0))) } }
    mutating func set(_ key: String, _ value: String) { bytes += [0] + Self.string(key) + Self.string(value) }
    mutating func record(_ type: UInt8, _ key: String, _ payload: [UInt8]) { bytes += [type] + Self.string(key) + payload }
    mutating func hashListpack(_ key: String, _ fields: [String]) { record(16, key, Self.string(Self.listpack(fields))) }

    /// Ends the file: EOF opcode and the CRC-64 trailer over everything before it.
    func finished() -> [UInt8] {
        var out = bytes + [0xff]
        var crc = CRC64()
        out.withUnsafeBytes { crc.update($0) }
        for i in 0..<8 { out.append(UInt8((crc.value >> (8 * UInt64(i))) & 0xff)) }
        return out
    }

    /// Recomputes the trailer after `body` was tampered with: a CRC-valid file.
    static func resealed(_ file: [UInt8]) -> [UInt8] {
        var out = Array(file.dropLast(8))
        var crc = CRC64()
        out.withUnsafeBytes { crc.update($0) }
        for i in 0..<8 { out.append(UInt8((crc.value >> (8 * UInt64(i))) & 0xff)) }
        return out
    }
}

@Suite struct RDBParserTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/rdb")

    static func fixture(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: fixtures.appendingPathComponent(name + ".rdb")))
    }

    static func parse(_ bytes: [UInt8]) throws -> RDBSummary {
        try RDBParser(reader: RDBReader(bytes: bytes)).parse()
    }

    /// Feeds `bytes` through the streaming check in chunks of `chunk` bytes.
    static func check(_ bytes: [UInt8], chunk: Int = 4096) throws -> RDBCheck {
        let check = RDBCheck()
        var i = 0
        while i < bytes.count {
            let end = min(bytes.count, i + chunk)
            try bytes[i..<end].withUnsafeBytes { try check.consume($0) }
            i = end
        }
        try check.finish()
        return check
    }

    // Redis's own test assets (tests/assets in redis 7.2.6, BSD-3-Clause; see Fixtures/rdb/README.md).

    @Test func redisEncodingsAssetHoldsItsThirteenKeys() throws {
        // RDB 4: zipmap, ziplists, intsets of three widths, linked lists, LZF strings.
        let summary = try Self.parse(try Self.fixture("encodings"))
        #expect(summary.version == 4)
        #expect(summary.databases[0]?.keys == 13)
        #expect(summary.emptyKeys == 0)
    }

    @Test(arguments: ["hash-zipmap", "hash-ziplist", "zset-ziplist", "list-quicklist", "scriptbackup"])
    func redisAssetsInOldEncodingsParse(name: String) throws {
        let summary = try Self.parse(try Self.fixture(name))
        #expect(summary.keys >= (name == "scriptbackup" ? 0 : 1))
        #expect(summary.notParsed == nil)
    }

    @Test func emptyKeysAreCountedAndWarnedNotFailed() throws {
        // Redis loads this file with "empty keys skipped: 9" and an empty db0.
        let check = try Self.check(try Self.fixture("corrupt_empty_keys"))
        #expect(check.summary?.emptyKeys == 9)
        #expect(check.summary?.keys == 0)
        #expect(check.warnings.contains { $0.contains("9 empty keys") })
    }

    @Test func redisCorruptZiplistAssetIsRefused() throws {
        // Redis refuses it with "Ziplist integrity check failed" (it has no CRC).
        let error = #expect(throws: LifeboatError.self) { try Self.parse(try Self.fixture("corrupt_ziplist")) }
        #expect(error?.message.contains("integrity check failed") == true)
        #expect(error?.code == .integrity)
    }

    // Crafted files.

    static func sample() -> [UInt8] {
        var b = RDBBuilder()
        b.select(0)
        b.set("greeting", "hello")
        b.hashListpack("user:1", ["name", "ada", "age", "36"])
        b.record(20, "tags", RDBBuilder.string(RDBBuilder.listpack(["red", "green", "blue"])))
        b.record(
            18, "queue",
            RDBBuilder.length(2) + [2] + RDBBuilder.string(RDBBuilder.listpack(["a", "b"]))
                + [1] + RDBBuilder.string("a plain node"))
        b.record(5, "board", RDBBuilder.length(1) + RDBBuilder.string("ada") + Array(repeating: 0, count: 6) + [0xf0, 0x3f])  // 1.0
        b.select(3)
        b.expire(ms: 4_102_444_800_000)  // 2100
        b.set("later", "x")
        b.expire(ms: 1_000)  // 1970
        b.set("gone", "y")
        return b.finished()
    }

    @Test func aCraftedFileOfEveryRedis7TypeParsesWithItsCounts() throws {
        let check = try Self.check(Self.sample())
        let summary = try #require(check.summary)
        #expect(summary.databases[0]?.keys == 5)
        #expect(summary.databases[3]?.keys == 2)
        #expect(summary.databases[3]?.alive(at: Date()) == 1)  // "gone" expired in 1970
        #expect(summary.databases[3]?.alive(at: Date(timeIntervalSince1970: 0)) == 2)
        #expect(summary.redisVersion == "7.0.15")
    }

    @Test(arguments: [1, 2, 5, 13, 4096])
    func theStreamingCheckGivesTheSameSummaryWhateverTheChunking(chunk: Int) throws {
        let whole = try Self.parse(Self.sample())
        #expect(try Self.check(Self.sample(), chunk: chunk).summary == whole)
    }

    @Test func item6_aCRCValidRDBWithACorruptListpackIsRefused() throws {
        var file = Self.sample()
        // The "age" field's back-length byte inside user:1's listpack: structure broken,
        // CRC recomputed, so only the structural parse can tell.
        let marker = Array("age".utf8)
        let at = try #require((0..<(file.count - 3)).first { Array(file[$0..<($0 + 3)]) == marker })
        file[at + 3] ^= 0x7f
        file = RDBBuilder.resealed(file)
        #expect(throws: Never.self) { try RDBValidator().consumeAll(file) }
        let error = #expect(throws: LifeboatError.self) { try Self.check(file) }
        #expect(error?.message.contains("listpack integrity check failed") == true)
        #expect(error?.message.contains("user:1") == true)
    }

    @Test func duplicatesOddPairsAndNaNScoresAreRefused() throws {
        var dup = RDBBuilder()
        dup.hashListpack("h", ["f", "1", "f", "2"])
        #expect(throws: LifeboatError.self) { try Self.parse(dup.finished()) }
        var odd = RDBBuilder()
        odd.hashListpack("h", ["f", "1", "g"])
        #expect(throws: LifeboatError.self) { try Self.parse(odd.finished()) }
        var nan = RDBBuilder()
        nan.record(5, "z", RDBBuilder.length(1) + RDBBuilder.string("m") + [0, 0, 0, 0, 0, 0, 0xf8, 0x7f])
        let error = #expect(throws: LifeboatError.self) { try Self.parse(nan.finished()) }
        #expect(error?.message.contains("NaN") == true)
        var set = RDBBuilder()
        set.record(2, "s", RDBBuilder.length(2) + RDBBuilder.string("a") + RDBBuilder.string("a"))
        #expect(throws: LifeboatError.self) { try Self.parse(set.finished()) }
    }

    /// A module value as `RM_SaveUnsigned`, `RM_SaveString`, `RM_SaveDouble`, `RM_SaveFloat` write it.
    static func moduleValue(opcodes: [UInt8]) -> [UInt8] {
        var b = RDBBuilder()
        let id: UInt64 = (0x2a_1234_5678 << 10) | 1  // name bits, encoding version 1
        let idBytes: [UInt8] = [0x81] + (0..<8).map { UInt8(truncatingIfNeeded: id >> (8 * UInt64(7 - $0))) }
        b.record(7, "vec", idBytes + opcodes)
        return b.finished()
    }

    @Test func moduleValuesAreWalkedThroughTheirOpcodes() throws {
        let good = Self.moduleValue(
            opcodes: [2, 42, 5] + RDBBuilder.string("payload") + [4] + Array(repeating: 0, count: 8)
                + [3, 0, 0, 0, 0] + [0])
        let summary = try Self.parse(good)
        #expect(summary.keys == 1)
        #expect(summary.modules.count == 1)
        #expect(summary.warnings.contains { $0.contains("must load") })
        #expect(throws: LifeboatError.self) { try Self.parse(Self.moduleValue(opcodes: [2, 42, 9, 0])) }
        #expect(throws: LifeboatError.self) { try Self.parse(Self.moduleValue(opcodes: [2, 42])) }  // no EOF opcode
    }

    static func stream(consumerPending: [UInt8]) -> [UInt8] {
        let id = [UInt8](repeating: 0, count: 15) + [1]
        // master entry: count 1, deleted 0, 1 field "f", 0; entry: flags 2 (same fields), ms 0, seq 0, value, lp-count 4
        let lp = RDBBuilder.listpack(["1", "0", "1", "f", "0", "2", "0", "0", "v", "4"])
        var payload = RDBBuilder.length(1) + RDBBuilder.string(id) + RDBBuilder.string(lp)
        payload += RDBBuilder.length(1) + [0, 1]  // length, last id
        payload += [0, 1, 0, 0, 1]  // first id, max deleted id, entries added
        payload += RDBBuilder.length(1) + RDBBuilder.string("group") + [0, 1] + [1]  // last id, entries read
        payload += RDBBuilder.length(1) + id + Array(repeating: 0, count: 8) + [1]  // PEL: id, delivery time, count
        payload += RDBBuilder.length(1) + RDBBuilder.string("alice") + Array(repeating: 0, count: 16)  // seen, active
        payload += RDBBuilder.length(1) + consumerPending
        var b = RDBBuilder(version: 11)
        b.record(21, "events", payload)
        return b.finished()
    }

    @Test func streamsWithGroupsParseAndAConsumerPendingEntryMustBeInItsGroup() throws {
        let id = [UInt8](repeating: 0, count: 15) + [1]
        #expect(try Self.parse(Self.stream(consumerPending: id)).keys == 1)
        let error = #expect(throws: LifeboatError.self) { try Self.parse(Self.stream(consumerPending: [UInt8](repeating: 0, count: 15) + [2])) }
        #expect(error?.message.contains("PEL") == true)
    }

    @Test func bytesAfterTheChecksumAreRefused() throws {
        // The CRC alone passes this file: appending k ≤ 8 zero bytes shifts the CRC-64 by k bytes.
        #expect(throws: Never.self) { try RDBValidator().consumeAll(Self.sample() + [0, 0, 0]) }
        let error = #expect(throws: LifeboatError.self) { try Self.check(Self.sample() + [0, 0, 0]) }
        #expect(error?.message.contains("after its end") == true)
    }

    @Test func lzfStreamingValidationAgreesWithExpansion() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            let input = (0..<Int.random(in: 1...24, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let size = Int.random(in: 1...64, using: &rng)
            let expanded = LZF.expand(input, to: size)
            let reader = RDBReader(bytes: input)
            let streamed = (try? LZF.validate(compressedLength: UInt64(input.count), expandedLength: UInt64(size), reader: reader, what: "x")) != nil
            #expect(streamed == (expanded != nil), "input \(input) size \(size)")
        }
        // "aaaaaaaaaa": literal "a", then a back reference of 9 bytes at distance 1.
        #expect(LZF.expand([0x00, 0x61, 0xe0, 0x00, 0x00], to: 10) == Array("aaaaaaaaaa".utf8))
    }

    @Test func randomDamageNeverTrapsTheParser() throws {
        let corpus = [
            Self.sample(), Self.stream(consumerPending: [UInt8](repeating: 0, count: 15) + [1]),
            try Self.fixture("encodings"), try Self.fixture("hash-zipmap"), try Self.fixture("list-quicklist"),
        ]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<4000 {
            var file = corpus.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let i = Int.random(in: 9..<file.count, using: &rng)
                file[i] = Bool.random(using: &rng) ? UInt8.random(in: 0...255, using: &rng) : file[i] ^ (1 << UInt8.random(in: 0...7, using: &rng))
            }
            if Bool.random(using: &rng) { file = Array(file.prefix(Int.random(in: 9...file.count, using: &rng))) }
            _ = try? Self.parse(file)  // must throw or succeed, never trap
        }
    }

    @Test func keyCountsAreComparedPerDatabaseWithExpiriesAsARange() throws {
        let summary = try Self.parse(Self.sample())
        let now = Date()
        #expect(RedisRestore.keyCountMismatch(summary: summary, keyspace: ["db0": 5, "db3": 1], parsedAt: now, countedAt: now) == nil)
        #expect(
            RedisRestore.keyCountMismatch(summary: summary, keyspace: ["db0": 4, "db3": 1], parsedAt: now, countedAt: now)?.contains(
                "db0 has 4 keys, the RDB holds 5") == true)
        #expect(
            RedisRestore.keyCountMismatch(summary: summary, keyspace: ["db0": 5, "db3": 1, "db7": 2], parsedAt: now, countedAt: now)?.contains("db7")
                == true)
        // "later" expires in 2100: counted as long as the count happens before then.
        let far = Date(timeIntervalSince1970: 4_102_444_800 + 1)
        #expect(RedisRestore.keyCountMismatch(summary: summary, keyspace: ["db0": 5, "db3": 0], parsedAt: now, countedAt: far) == nil)
        #expect(RedisRestore.keyCountMismatch(summary: summary, keyspace: ["db0": 5, "db3": 1], parsedAt: now, countedAt: far) == nil)
    }
}

extension RDBValidator {
    func consumeAll(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try consume($0) }
        try finish()
    }
}
