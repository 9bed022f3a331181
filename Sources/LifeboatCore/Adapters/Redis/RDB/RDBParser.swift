import Foundation

/// A structural parse of an RDB (versions 1 to 11, and 12 up to its hash-field-expiry types),
/// record by record, as `rdbLoad` reads it: every opcode, every value type and encoding Redis 7
/// writes or reads (plain strings, lists, sets, sorted sets, hashes; zipmap, ziplist, intset,
/// listpack; quicklist 1 and 2; streams 1 to 3 with consumer groups; module values and module aux
/// data walked through their MODULE_2 opcodes; functions), with the checks Redis applies in deep
/// sanitisation: packed encodings intact, no duplicate members, no NaN scores, consumer PEL
/// entries present in their group's PEL. The CRC is `RDBValidator`'s job.
struct RDBParser {
    let reader: RDBReader

    init(reader: RDBReader) {
        self.reader = reader
    }

    private enum ValueType: UInt8 {
        case string = 0
        case list = 1
        case set = 2
        case zset = 3
        case hash = 4
        case zset2 = 5
        case modulePreGA = 6
        case module2 = 7
        case hashZipmap = 9
        case listZiplist = 10
        case setIntset = 11
        case zsetZiplist = 12
        case hashZiplist = 13
        case listQuicklist = 14
        case streamListpacks = 15
        case hashListpack = 16
        case zsetListpack = 17
        case listQuicklist2 = 18
        case streamListpacks2 = 19
        case setListpack = 20
        case streamListpacks3 = 21
    }

    func parse() throws -> RDBSummary {
        var summary = RDBSummary()
        let magic = try reader.bytes(9, "the header")
        guard Array(magic.prefix(5)) == Array("REDIS".utf8),
            let version = Int(String(decoding: magic.suffix(4), as: UTF8.self))
        else {
            throw reader.corrupt("not an RDB file (no REDIS magic and version)", at: 0)
        }
        guard (1...12).contains(version) else { throw reader.corrupt("unknown RDB version \(version)", at: 5) }
        summary.version = version
        var db = 0
        var counts = RDBSummary.Database()  // of `db`, merged into the summary when it changes
        var key: [UInt8] = []
        var expiry: Int64?
        func flush() {
            guard counts != RDBSummary.Database() else { return }
            var merged = summary.databases[db, default: .init()]
            merged.keys += counts.keys
            merged.persistent += counts.persistent
            merged.expiries += counts.expiries
            if let hint = counts.sizeHint { merged.sizeHint = hint }
            summary.databases[db] = merged
            counts = .init()
        }
        while true {
            let at = reader.offset
            let type = try reader.byte("a record type")
            switch type {
            case 0xff:  // EOF, then the CRC-64 trailer from version 5
                if version >= 5 { try reader.skip(8, "the checksum") }
                flush()
                return summary
            case 0xfe:
                flush()
                db = Int(try reader.count("a database number"))
            case 0xfd: expiry = Int64(Int32(truncatingIfNeeded: try reader.littleEndian(4, "an expiry"))) * 1000
            case 0xfc: expiry = Int64(bitPattern: try reader.littleEndian(8, "an expiry"))
            case 0xfb:
                let size = try reader.count("a RESIZEDB size")
                _ = try reader.count("a RESIZEDB expires size")
                counts.sizeHint = size
            case 0xfa:
                let key = try reader.string("an aux field name")
                let value = key.count <= 64 ? try reader.string("an aux field value") : nil
                if value == nil { try reader.skipString("an aux field value") }
                if key == Array("redis-ver".utf8), let value { summary.redisVersion = String(decoding: value, as: UTF8.self) }
            case 0xf9: _ = try reader.byte("an LFU frequency")
            case 0xf8: _ = try reader.plainLength("an LRU idle time")
            case 0xf7:  // module aux data
                let id = try reader.plainLength("a module id")
                guard try reader.plainLength("a module aux when-opcode") == 2 else {
                    throw reader.corrupt("module aux data with a bad when-opcode", at: at)
                }
                _ = try reader.plainLength("a module aux when")
                let name = Self.moduleName(id)
                summary.modules.insert(name)
                try moduleValue(name)
            case 0xf6: throw reader.corrupt("pre-release function format (Redis 7.0 release candidates), which no Redis 7 loads", at: at)
            case 0xf5:
                try reader.skipString("a function library")
                summary.functions += 1
            case 0xf4:  // slot info (cluster, RDB 12): slot id, slot size, expires slot size
                for what in ["slot id", "slot size", "expires slot size"] { _ = try reader.plainLength(what) }
            case 22...25 where version >= 12:
                flush()
                summary.notParsed = "offset \(at) (value type \(type), a hash with field expiry from Redis 7.4, which this build does not parse)"
                _ = try reader.drain()
                return summary
            default:
                guard let valueType = ValueType(rawValue: type) else { throw reader.corrupt("unknown record type \(type)", at: at) }
                try reader.string(into: &key, "a key")
                let value = try self.value(valueType, key: key, summary: &summary)
                if value.empty {
                    summary.emptyKeys += 1
                    summary.emptyByDatabase[db, default: 0] += 1
                } else {
                    counts.keys += 1
                    if let expiry {
                        counts.expiries.append(expiry)
                    } else {
                        counts.persistent += 1
                    }
                }
                expiry = nil
            }
        }
    }

    private struct Value { var empty = false }

    private func value(_ type: ValueType, key: [UInt8], summary: inout RDBSummary) throws -> Value {
        let at = reader.offset
        var name: String { Self.printable(key) }  // only for messages
        func bad(_ what: String) -> LifeboatError { reader.corrupt("key \(name): \(what)", at: at) }
        func packed<T>(_ what: String, _ check: ([UInt8]) throws(RDBPacked.Malformed) -> T) throws -> (T, [UInt8]) {
            let blob = try reader.string("the \(what) of key \(name)")
            do {
                return (try check(blob), blob)
            } catch {
                throw bad("\(what) integrity check failed: \(error.reason)")
            }
        }
        switch type {
        case .string:
            try reader.skipString("the value of key \(name)")
            return Value()
        case .list:
            let n = try reader.count("the length of list \(name)")
            for _ in 0..<n { try reader.skipString("an element of list \(name)") }
            return Value(empty: n == 0)
        case .set:
            let n = try reader.count("the size of set \(name)")
            var seen = Set<Int>()
            for _ in 0..<n {
                guard seen.insert(Self.fingerprint(try reader.string("a member of set \(name)"))).inserted else { throw bad("duplicate set members") }
            }
            return Value(empty: n == 0)
        case .zset, .zset2:
            let n = try reader.count("the size of sorted set \(name)")
            var seen = Set<Int>()
            for _ in 0..<n {
                guard seen.insert(Self.fingerprint(try reader.string("a member of sorted set \(name)"))).inserted else {
                    throw bad("duplicate sorted set members")
                }
                let score = type == .zset2 ? Double(bitPattern: try reader.littleEndian(8, "a score")) : try textScore()
                guard !score.isNaN else { throw bad("a NaN score") }
            }
            return Value(empty: n == 0)
        case .hash:
            let n = try reader.count("the size of hash \(name)")
            var seen = Set<Int>()
            for _ in 0..<n {
                guard seen.insert(Self.fingerprint(try reader.string("a field of hash \(name)"))).inserted else { throw bad("duplicate hash fields") }
                try reader.skipString("a value of hash \(name)")
            }
            return Value(empty: n == 0)
        case .modulePreGA:
            throw bad("a module value in the pre-release format of Redis 4.0 release candidates")
        case .module2:
            let module = Self.moduleName(try reader.plainLength("a module id"))
            summary.modules.insert(module)
            try moduleValue(module)
            return Value()
        case .hashZipmap:
            let (pairs, blob) = try packed("zipmap", RDBPacked.zipmap)
            var seen = Set<Int>()
            for pair in pairs where !seen.insert(Self.fingerprint(Array(blob[pair.field]))).inserted {
                throw bad("hash zipmap with duplicate fields")
            }
            return Value()
        case .listZiplist:
            let (elements, _) = try packed("ziplist", RDBPacked.ziplist)
            return Value(empty: elements.isEmpty)
        case .setIntset:
            _ = try packed("intset", RDBPacked.intset)
            return Value()
        case .zsetZiplist, .hashZiplist:
            let (elements, blob) = try packed("ziplist", RDBPacked.ziplist)
            guard elements.count % 2 == 0 else { throw bad("ziplist of pairs holds an odd number of elements") }
            if RDBPacked.firstDuplicate(elements, in: blob, pairs: true) != nil { throw bad("ziplist with duplicate fields") }
            return Value(empty: elements.isEmpty)
        case .hashListpack, .zsetListpack, .setListpack:
            let (elements, blob) = try packed("listpack", RDBPacked.listpack)
            let pairs = type != .setListpack
            guard !pairs || elements.count % 2 == 0 else { throw bad("listpack of pairs holds an odd number of elements") }
            if RDBPacked.firstDuplicate(elements, in: blob, pairs: pairs) != nil {
                throw bad("listpack with duplicate \(pairs ? "fields" : "members")")
            }
            return Value(empty: elements.isEmpty)
        case .listQuicklist, .listQuicklist2:
            let nodes = try reader.count("the node count of list \(name)")
            var elements = 0
            for _ in 0..<nodes {
                var container: UInt64 = 2  // packed
                if type == .listQuicklist2 {
                    container = try reader.plainLength("a quicklist container")
                    guard container == 1 || container == 2 else { throw bad("quicklist node with an unknown container \(container)") }
                }
                if container == 1 {
                    guard try reader.skipString("a plain quicklist node of \(name)") > 0 else { throw bad("an empty quicklist node") }
                    elements += 1
                } else if type == .listQuicklist2 {
                    let (node, _) = try packed("quicklist listpack", RDBPacked.listpack)
                    elements += node.count
                } else {
                    let (node, _) = try packed("quicklist ziplist", RDBPacked.ziplist)
                    elements += node.count
                }
            }
            return Value(empty: elements == 0)
        case .streamListpacks, .streamListpacks2, .streamListpacks3:
            try stream(type == .streamListpacks ? 1 : type == .streamListpacks2 ? 2 : 3, key: key, bad: bad)
            return Value()
        }
    }

    /// A stream: its listpacks keyed by 16-byte master ids, its counters, and its consumer
    /// groups with their pending entries and consumers.
    private func stream(_ version: UInt8, key: [UInt8], bad: (String) -> LifeboatError) throws {
        var name: String { Self.printable(key) }
        let listpacks = try reader.count("the listpack count of stream \(name)")
        for _ in 0..<listpacks {
            guard try reader.string("a stream node key of \(name)").count == 16 else { throw bad("stream node key is not a 16-byte id") }
            let blob = try reader.string("a stream listpack of \(name)")
            do {
                try RDBPacked.streamListpack(blob)
            } catch {
                throw bad("stream listpack integrity check failed: \(error.reason)")
            }
        }
        let length = try reader.plainLength("the length of stream \(name)")
        guard length == 0 || listpacks > 0 else { throw bad("stream of \(length) entries holds no listpack") }
        for what in ["last id (ms)", "last id (seq)"] { _ = try reader.plainLength(what) }
        if version >= 2 {
            for what in ["first id (ms)", "first id (seq)", "max deleted id (ms)", "max deleted id (seq)", "entries added"] {
                _ = try reader.plainLength(what)
            }
        }
        let groups = try reader.count("the consumer group count of stream \(name)")
        for _ in 0..<groups {
            try reader.skipString("a consumer group name of \(name)")
            for what in ["group last id (ms)", "group last id (seq)"] { _ = try reader.plainLength(what) }
            if version >= 2 { _ = try reader.plainLength("group entries read") }
            var pending = Set<[UInt8]>()
            for _ in 0..<(try reader.count("a group PEL size of \(name)")) {
                guard pending.insert(try reader.bytes(16, "a pending entry id")).inserted else {
                    throw bad("duplicate entry in a consumer group's PEL")
                }
                try reader.skip(8, "a delivery time")
                _ = try reader.plainLength("a delivery count")
            }
            for _ in 0..<(try reader.count("a consumer count of \(name)")) {
                try reader.skipString("a consumer name of \(name)")
                try reader.skip(version >= 3 ? 16 : 8, "a consumer's seen/active time")
                for _ in 0..<(try reader.count("a consumer PEL size of \(name)")) {
                    guard pending.contains(try reader.bytes(16, "a consumer pending entry id")) else {
                        throw bad("a consumer's pending entry is not in its group's PEL")
                    }
                }
            }
        }
    }

    /// A module value or aux payload: MODULE_2 opcodes until the EOF opcode.
    private func moduleValue(_ module: String) throws {
        while true {
            let at = reader.offset
            switch try reader.plainLength("a module \(module) opcode") {
            case 0: return
            case 1, 2: _ = try reader.length("an integer of module \(module)")
            case 3: try reader.skip(4, "a float of module \(module)")
            case 4: try reader.skip(8, "a double of module \(module)")
            case 5: try reader.skipString("a string of module \(module)")
            case let op: throw reader.corrupt("module \(module) value with an unknown opcode \(op)", at: at)
            }
        }
    }

    /// An old-format (type 3) score: a length byte, 253 NaN, 254 +inf, 255 -inf, else ASCII.
    private func textScore() throws -> Double {
        let n = try reader.byte("a score")
        switch n {
        case 253: return .nan
        case 254: return .infinity
        case 255: return -.infinity
        default:
            let at = reader.offset
            guard let v = Double(String(decoding: try reader.bytes(Int(n), "a score"), as: UTF8.self)) else {
                throw reader.corrupt("a sorted set score that is not a number", at: at)
            }
            return v
        }
    }

    static func fingerprint(_ bytes: [UInt8]) -> Int {
        var hasher = Hasher()
        for b in bytes { hasher.combine(b) }
        return hasher.finalize()
    }

    /// `moduleTypeNameByID`: nine characters from the id's upper 54 bits.
    static func moduleName(_ id: UInt64) -> String {
        let charset = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var rest = id >> 10
        var name: [Character] = []
        for _ in 0..<9 {
            name.insert(charset[Int(rest & 63)], at: 0)
            rest >>= 6
        }
        return String(name)
    }

    /// A key for a message: printable ASCII kept, the rest escaped, long keys cut.
    static func printable(_ key: [UInt8]) -> String {
        var out = "\""
        for b in key.prefix(80) {
            if b >= 0x20 && b < 0x7f && b != 0x22 && b != 0x5c {
                out.append(Character(UnicodeScalar(b)))
            } else {
                out += String(format: "\\x%02x", b)
            }
        }
        return out + (key.count > 80 ? "…\"" : "\"")
    }
}
