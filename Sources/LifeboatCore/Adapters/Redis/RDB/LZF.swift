/// LZF, as liblzf's `lzf_decompress` reads it (Redis compresses RDB strings with it). A control
/// byte below 32 starts a literal run of `ctrl + 1` bytes; otherwise it is a back reference of
/// `(ctrl >> 5) + 2` bytes (7 means "add the next byte"), `((ctrl & 31) << 8) + next + 1` bytes
/// back. Redis refuses a string whose data does not expand to exactly the announced length.
enum LZF {
    /// The expansion of `input`, or nil when it is malformed or is not `count` bytes long.
    static func expand(_ input: [UInt8], to count: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        var ip = 0
        var op = 0
        while ip < input.count {
            let ctrl = Int(input[ip])
            ip += 1
            if ctrl < 32 {
                let run = ctrl + 1
                guard op + run <= count, ip + run <= input.count else { return nil }
                for i in 0..<run { out[op + i] = input[ip + i] }
                ip += run
                op += run
            } else {
                var run = ctrl >> 5
                guard ip < input.count else { return nil }
                if run == 7 {
                    run += Int(input[ip])
                    ip += 1
                    guard ip < input.count else { return nil }
                }
                let back = ((ctrl & 0x1f) << 8) + Int(input[ip]) + 1
                ip += 1
                run += 2
                guard op + run <= count, back <= op else { return nil }
                for i in 0..<run { out[op + i] = out[op - back + i] }
                op += run
            }
        }
        return op == count ? out : nil
    }

    /// Walks `compressedLength` bytes of LZF from `reader` without keeping the output: the same
    /// rules as `expand`, so a string can be proved without holding it.
    static func validate(compressedLength: UInt64, expandedLength: UInt64, reader: RDBReader, what: @autoclosure () -> String) throws {
        let start = reader.offset
        var consumed: UInt64 = 0
        var produced: UInt64 = 0
        func bad() -> LifeboatError {
            reader.corrupt("\(what()): LZF data does not expand to the \(expandedLength) bytes announced", at: start)
        }
        while consumed < compressedLength {
            let ctrl = UInt64(try reader.byte(what()))
            consumed += 1
            if ctrl < 32 {
                let run = ctrl + 1
                guard produced + run <= expandedLength, consumed + run <= compressedLength else { throw bad() }
                try reader.skip(run, what())
                consumed += run
                produced += run
            } else {
                var run = ctrl >> 5
                guard consumed < compressedLength else { throw bad() }
                if run == 7 {
                    run += UInt64(try reader.byte(what()))
                    consumed += 1
                    guard consumed < compressedLength else { throw bad() }
                }
                let back = ((ctrl & 0x1f) << 8) + UInt64(try reader.byte(what())) + 1
                consumed += 1
                run += 2
                guard produced + run <= expandedLength, back <= produced else { throw bad() }
                produced += run
            }
        }
        guard produced == expandedLength else { throw bad() }
    }
}
