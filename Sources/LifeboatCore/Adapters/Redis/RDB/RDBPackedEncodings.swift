/// The packed encodings Redis stores inside RDB strings, each checked the way Redis 7's
/// `*ValidateIntegrity` functions check them in deep mode: header sizes against the blob, every
/// entry inside the blob and consistent with its neighbours, the terminator, the element count.
/// Each returns the decoded elements so callers can apply the type's own rules (pairs, no
/// duplicates, non-empty).
enum RDBPacked {
    struct Malformed: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    enum Element: Equatable {
        case int(Int64)
        case bytes(Range<Int>)

        /// Integer value, also of a string element that is a decimal integer (`lpGetIntegerIfValid`).
        func integer(in blob: [UInt8]) -> Int64? {
            switch self {
            case .int(let v): return v
            case .bytes(let r): return r.isEmpty || r.count > 20 ? nil : Int64(String(decoding: blob[r], as: UTF8.self))
            }
        }

        /// A hash of the element's value as Redis compares it (an integer equals its decimal text).
        func fingerprint(in blob: [UInt8]) -> Int {
            var hasher = Hasher()
            switch self {
            case .int(let v): for b in String(v).utf8 { hasher.combine(b) }
            case .bytes(let r): for b in blob[r] { hasher.combine(b) }
            }
            return hasher.finalize()
        }
    }

    private static func le(_ blob: [UInt8], _ at: Int, _ width: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<width { v |= UInt64(blob[at + i]) << (8 * UInt64(i)) }
        return v
    }

    private static func signed(_ value: UInt64, bits: Int) -> Int64 {
        let shift = 64 - bits
        return Int64(bitPattern: value << UInt64(shift)) >> Int64(shift)
    }

    // MARK: listpack

    /// `lpValidateIntegrity(deep)`: total bytes, count, entries with matching back-lengths, EOF.
    static func listpack(_ lp: [UInt8]) throws(Malformed) -> [Element] {
        guard lp.count >= 7 else { throw Malformed("listpack of \(lp.count) bytes is shorter than its header") }
        guard le(lp, 0, 4) == UInt64(lp.count) else { throw Malformed("listpack header says \(le(lp, 0, 4)) bytes, the string holds \(lp.count)") }
        guard lp[lp.count - 1] == 0xff else { throw Malformed("listpack does not end with its terminator") }
        let announced = Int(le(lp, 4, 2))
        var elements: [Element] = []
        var p = 6
        let last = lp.count - 1  // the EOF byte
        while p < last {
            let b = lp[p]
            var header = 1
            var dataLength = 0
            var element: Element
            func need(_ n: Int) throws(Malformed) { if p + n > last { throw Malformed("listpack entry at \(p) runs past the end") } }
            switch b {
            case 0x00...0x7f: element = .int(Int64(b))
            case 0x80...0xbf:
                dataLength = Int(b & 0x3f)
                element = .bytes(0..<0)
            case 0xc0...0xdf:
                try need(2)
                header = 2
                element = .int(signed(UInt64(b & 0x1f) << 8 | UInt64(lp[p + 1]), bits: 13))
            case 0xe0...0xef:
                try need(2)
                header = 2
                dataLength = Int(b & 0x0f) << 8 | Int(lp[p + 1])
                element = .bytes(0..<0)
            case 0xf0:
                try need(5)
                header = 5
                dataLength = Int(le(lp, p + 1, 4))
                element = .bytes(0..<0)
            case 0xf1:
                try need(3)
                header = 3
                element = .int(signed(le(lp, p + 1, 2), bits: 16))
            case 0xf2:
                try need(4)
                header = 4
                element = .int(signed(le(lp, p + 1, 3), bits: 24))
            case 0xf3:
                try need(5)
                header = 5
                element = .int(signed(le(lp, p + 1, 4), bits: 32))
            case 0xf4:
                try need(9)
                header = 9
                element = .int(Int64(bitPattern: le(lp, p + 1, 8)))
            default: throw Malformed(String(format: "listpack entry at %d has an invalid encoding byte 0x%02x", p, b))
            }
            let entry = header + dataLength
            if case .bytes = element { element = .bytes((p + header)..<(p + entry)) }
            let backLength = entry <= 127 ? 1 : entry < 16383 ? 2 : entry < 2_097_151 ? 3 : entry < 268_435_455 ? 4 : 5
            guard p + entry + backLength <= last else { throw Malformed("listpack entry at \(p) runs past the end") }
            // The back-length, read right to left: 7 bits per byte, high bit = more to the left.
            var decoded = 0
            var shift = 0
            var q = p + entry + backLength - 1
            while true {
                decoded |= Int(lp[q] & 0x7f) << shift
                if lp[q] & 0x80 == 0 || shift >= 28 { break }
                shift += 7
                q -= 1
            }
            guard decoded == entry else { throw Malformed("listpack entry at \(p) has a back-length of \(decoded), its size is \(entry)") }
            elements.append(element)
            p += entry + backLength
        }
        guard announced == 0xffff || announced == elements.count else {
            throw Malformed("listpack header counts \(announced) elements, it holds \(elements.count)")
        }
        return elements
    }

    // MARK: ziplist

    /// `ziplistValidateIntegrity(deep)`: bytes, tail offset, prevlen chain, count, terminator.
    static func ziplist(_ zl: [UInt8]) throws(Malformed) -> [Element] {
        guard zl.count >= 11 else { throw Malformed("ziplist of \(zl.count) bytes is shorter than its header") }
        guard le(zl, 0, 4) == UInt64(zl.count) else { throw Malformed("ziplist header says \(le(zl, 0, 4)) bytes, the string holds \(zl.count)") }
        guard zl[zl.count - 1] == 0xff else { throw Malformed("ziplist does not end with its terminator") }
        let tail = Int(le(zl, 4, 4))
        guard tail <= zl.count - 1 else { throw Malformed("ziplist tail offset \(tail) is outside it") }
        let announced = Int(le(zl, 8, 2))
        let last = zl.count - 1
        var elements: [Element] = []
        var p = 10
        var previousSize = 0
        var previousStart = -1
        while p < last {
            let start = p
            func need(_ n: Int) throws(Malformed) { if p + n > last { throw Malformed("ziplist entry at \(start) runs past the end") } }
            try need(1)
            var prevlen: Int
            if zl[p] < 254 {
                prevlen = Int(zl[p])
                p += 1
            } else if zl[p] == 254 {
                try need(5)
                prevlen = Int(le(zl, p + 1, 4))
                p += 5
            } else {
                throw Malformed("ziplist entry at \(start) has an invalid prevlen byte")
            }
            guard prevlen == previousSize else {
                throw Malformed("ziplist entry at \(start) says the previous entry has \(prevlen) bytes, it has \(previousSize)")
            }
            try need(1)
            let b = zl[p]
            var element: Element
            switch b >> 6 {
            case 0:
                let n = Int(b & 0x3f)
                p += 1
                try need(n)
                element = .bytes(p..<(p + n))
                p += n
            case 1:
                try need(2)
                let n = Int(b & 0x3f) << 8 | Int(zl[p + 1])
                p += 2
                try need(n)
                element = .bytes(p..<(p + n))
                p += n
            case 2:
                guard b == 0x80 else { throw Malformed(String(format: "ziplist entry at %d has an invalid encoding byte 0x%02x", start, b)) }
                try need(5)
                let n = Int(UInt32(zl[p + 1]) << 24 | UInt32(zl[p + 2]) << 16 | UInt32(zl[p + 3]) << 8 | UInt32(zl[p + 4]))
                p += 5
                try need(n)
                element = .bytes(p..<(p + n))
                p += n
            default:
                p += 1
                switch b {
                case 0xc0:
                    try need(2)
                    element = .int(signed(le(zl, p, 2), bits: 16))
                    p += 2
                case 0xd0:
                    try need(4)
                    element = .int(signed(le(zl, p, 4), bits: 32))
                    p += 4
                case 0xe0:
                    try need(8)
                    element = .int(Int64(bitPattern: le(zl, p, 8)))
                    p += 8
                case 0xf0:
                    try need(3)
                    element = .int(signed(le(zl, p, 3), bits: 24))
                    p += 3
                case 0xfe:
                    try need(1)
                    element = .int(signed(UInt64(zl[p]), bits: 8))
                    p += 1
                case 0xf1...0xfd: element = .int(Int64(b & 0x0f) - 1)
                default: throw Malformed(String(format: "ziplist entry at %d has an invalid encoding byte 0x%02x", start, b))
                }
            }
            elements.append(element)
            previousSize = p - start
            previousStart = start
        }
        guard previousStart < 0 || previousStart == tail else {
            throw Malformed("ziplist tail offset \(tail) does not point at its last entry (\(previousStart))")
        }
        guard announced == 0xffff || announced == elements.count else {
            throw Malformed("ziplist header counts \(announced) elements, it holds \(elements.count)")
        }
        return elements
    }

    // MARK: intset and zipmap

    /// `intsetValidateIntegrity(deep)`: a known width, the size, non-empty, strictly ascending.
    static func intset(_ blob: [UInt8]) throws(Malformed) -> Int {
        guard blob.count >= 8 else { throw Malformed("intset of \(blob.count) bytes is shorter than its header") }
        let width = Int(le(blob, 0, 4))
        guard [2, 4, 8].contains(width) else { throw Malformed("intset has an unknown integer width \(width)") }
        let count = Int(le(blob, 4, 4))
        guard 8 + count * width == blob.count else { throw Malformed("intset of \(count) × \(width) bytes does not fill its \(blob.count) bytes") }
        guard count > 0 else { throw Malformed("intset is empty") }
        var previous = Int64.min
        for i in 0..<count {
            let value = signed(le(blob, 8 + i * width, width), bits: width * 8)
            guard i == 0 || value > previous else { throw Malformed("intset is not strictly ascending at element \(i)") }
            previous = value
        }
        return count
    }

    /// `zipmapValidateIntegrity(deep)`: field/value pairs inside the blob, the count, the end byte.
    static func zipmap(_ zm: [UInt8]) throws(Malformed) -> [(field: Range<Int>, value: Range<Int>)] {
        guard zm.count >= 2, zm[zm.count - 1] == 0xff else { throw Malformed("zipmap does not end with its terminator") }
        let last = zm.count - 1
        var pairs: [(Range<Int>, Range<Int>)] = []
        var p = 1
        func length() throws(Malformed) -> Int {
            guard p < last else { throw Malformed("zipmap entry at \(p) runs past the end") }
            if zm[p] < 254 {
                p += 1
                return Int(zm[p - 1])
            }
            guard zm[p] == 254, p + 5 <= last else { throw Malformed("zipmap entry at \(p) has an invalid length") }
            p += 5
            return Int(le(zm, p - 4, 4))
        }
        while p < last && zm[p] != 0xff {
            let fieldLength = try length()
            guard p + fieldLength <= last else { throw Malformed("zipmap field at \(p) runs past the end") }
            let field = p..<(p + fieldLength)
            p += fieldLength
            let valueLength = try length()
            guard p < last else { throw Malformed("zipmap value at \(p) runs past the end") }
            let free = Int(zm[p])
            p += 1
            guard p + valueLength + free <= last else { throw Malformed("zipmap value at \(p) runs past the end") }
            pairs.append((field, p..<(p + valueLength)))
            p += valueLength + free
        }
        guard p == last else { throw Malformed("zipmap has bytes after its end marker") }
        guard !pairs.isEmpty else { throw Malformed("zipmap is empty") }
        guard zm[0] == 254 || Int(zm[0]) == pairs.count else { throw Malformed("zipmap header counts \(zm[0]) pairs, it holds \(pairs.count)") }
        return pairs
    }

    // MARK: rules over elements

    /// Duplicates among `elements` (all of them, or every other one from the first when `pairs`).
    static func firstDuplicate(_ elements: [Element], in blob: [UInt8], pairs: Bool) -> Int? {
        var seen = Set<Int>()
        let stride = pairs ? 2 : 1
        for i in Swift.stride(from: 0, to: elements.count, by: stride) where !seen.insert(elements[i].fingerprint(in: blob)).inserted {
            return i
        }
        return nil
    }

    /// `streamValidateListpackIntegrity(deep)`: the master entry (count, deleted, fields, 0) and
    /// each entry (flags, id deltas, fields unless SAMEFIELDS, values, lp-count).
    static func streamListpack(_ lp: [UInt8]) throws(Malformed) {
        let elements = try listpack(lp)
        guard !elements.isEmpty else { throw Malformed("empty listpack inside a stream") }
        var i = 0
        func integer(_ what: String) throws(Malformed) -> Int64 {
            guard i < elements.count else { throw Malformed("stream listpack ends inside an entry (\(what))") }
            guard let v = elements[i].integer(in: lp) else { throw Malformed("stream listpack element \(i) (\(what)) is not an integer") }
            i += 1
            return v
        }
        func skip(_ n: Int64, _ what: String) throws(Malformed) {
            guard n >= 0, Int64(i) + n <= Int64(elements.count) else { throw Malformed("stream listpack ends inside an entry (\(what))") }
            i += Int(n)
        }
        let count = try integer("entry count")
        let deleted = try integer("deleted count")
        let masterFields = try integer("master field count")
        try skip(masterFields, "master fields")
        guard try integer("master terminator") == 0 else { throw Malformed("stream listpack master entry is not terminated by 0") }
        guard count >= 0, deleted >= 0 else { throw Malformed("stream listpack has negative counts") }
        for _ in 0..<(count + deleted) {
            let flags = try integer("entry flags")
            _ = try integer("entry id (ms)")
            _ = try integer("entry id (seq)")
            var fields = masterFields
            var extra: Int64 = 3
            if flags & 2 == 0 {  // STREAM_ITEM_FLAG_SAMEFIELDS
                fields = try integer("entry field count")
                try skip(fields, "entry fields")
                extra += fields + 1
            }
            try skip(fields, "entry values")
            guard try integer("entry lp-count") == fields + extra else { throw Malformed("stream listpack entry has a wrong lp-count") }
        }
        guard i == elements.count else { throw Malformed("stream listpack has \(elements.count - i) elements after its last entry") }
    }
}
