/// Content-defined chunking, FastCDC as Xia et al. describe it in "The Design of Fast Content-
/// Defined Chunking for Data Deduplication Based Storage Systems" (IEEE TPDS 2020): a gear hash
/// (`fp = (fp << 1) + gear[byte]`), cut-point skipping below the minimum size, normalized
/// chunking (a harder mask `maskS` before the normal size, an easier `maskL` after it), and the
/// 2020 paper's rolling of two bytes per step (`fp << 2` with a pre-shifted gear table and
/// pre-shifted masks, then `fp << 0` with the plain ones).
///
/// Boundaries depend only on content, so an insertion moves the cuts near it and no others:
/// what did not change deduplicates. The gear table and masks are fixed (`FastCDC.parameters`,
/// written down in docs/FORMAT.md): changing them changes every boundary, which would lose
/// deduplication against everything already stored (never correctness).
public struct FastCDC {
    public struct Parameters: Sendable, Equatable {
        public var minimum: Int
        public var normal: Int
        public var maximum: Int

        public init(minimum: Int, normal: Int, maximum: Int) {
            precondition(minimum >= 64 && minimum < normal && normal < maximum, "FastCDC sizes must grow: min < normal < max")
            self.minimum = minimum
            self.normal = normal
            self.maximum = maximum
        }

        /// The repository default: 256 KiB, 1 MiB, 4 MiB.
        public static let standard = Parameters(minimum: 256 << 10, normal: 1 << 20, maximum: 4 << 20)
    }

    public let parameters: Parameters
    private let maskS: UInt64, maskL: UInt64
    private var buffer: [UInt8]
    private var start = 0  // first byte of the pending chunk in `buffer`

    public init(_ parameters: Parameters = .standard) {
        self.parameters = parameters
        let bits = Int.bitWidth - 1 - parameters.normal.leadingZeroBitCount  // log2 of the normal size
        maskS = Self.mask(ones: bits + 2)
        maskL = Self.mask(ones: bits - 2)
        buffer = []
        buffer.reserveCapacity(2 * parameters.maximum)
    }

    /// Feeds `bytes`; calls `emit` with each chunk that is complete (its end is decided).
    public mutating func push(_ bytes: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        var input = bytes
        while !input.isEmpty {
            let room = 2 * parameters.maximum - buffer.count
            let take = min(room, input.count)
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[0..<take]))
            input = UnsafeRawBufferPointer(rebasing: input[take...])
            try drain(final: false, emit: emit)
        }
    }

    /// Emits what is left (the last chunk may be shorter than the minimum).
    public mutating func finish(emit: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        try drain(final: true, emit: emit)
        buffer.removeAll(keepingCapacity: true)
        start = 0
    }

    private mutating func drain(final: Bool, emit: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        while buffer.count - start >= (final ? 1 : parameters.maximum) {
            let length = buffer.withUnsafeBytes { all in
                cut(UnsafeRawBufferPointer(rebasing: all[start..<buffer.count]))
            }
            try buffer.withUnsafeBytes { all in try emit(UnsafeRawBufferPointer(rebasing: all[start..<(start + length)])) }
            start += length
        }
        if start > 0 && (final || start >= parameters.maximum) {
            buffer.removeFirst(start)
            start = 0
        }
    }

    /// The length of the next chunk at the start of `data` (all of it when shorter than the
    /// minimum; at most the maximum).
    public func cut(_ data: UnsafeRawBufferPointer) -> Int {
        let n = data.count
        if n <= parameters.minimum { return n }
        let end = min(n, parameters.maximum)
        let normal = min(end, parameters.normal)
        let bytes = data.bindMemory(to: UInt8.self)
        var fp: UInt64 = 0
        var i = parameters.minimum
        let maskSLeft = maskS << 1
        let maskLLeft = maskL << 1
        return FastCDC.gearTable.withUnsafeBufferPointer { gear in
            FastCDC.gearLeftTable.withUnsafeBufferPointer { gearLeft in
                // Two bytes per step (FastCDC 2020, Algorithm 2): the first byte's contribution is
                // shifted once more, so both masks are checked against the pre-shifted variant.
                while i + 1 < normal {
                    fp = (fp << 2) &+ gearLeft[Int(bytes[i])]
                    if fp & maskSLeft == 0 { return i }
                    fp = fp &+ gear[Int(bytes[i + 1])]
                    if fp & maskS == 0 { return i + 1 }
                    i += 2
                }
                while i + 1 < end {
                    fp = (fp << 2) &+ gearLeft[Int(bytes[i])]
                    if fp & maskLLeft == 0 { return i }
                    fp = fp &+ gear[Int(bytes[i + 1])]
                    if fp & maskL == 0 { return i + 1 }
                    i += 2
                }
                return end
            }
        }
    }

    /// A mask of `ones` bits spread over the upper 48 bits (the paper's "padding zero bits"
    /// widens the effective window beyond the last `ones` bytes).
    static func mask(ones: Int) -> UInt64 {
        var mask: UInt64 = 0
        var generator = SplitMix64(seed: 0x4c49_4645_424f_4154 ^ UInt64(ones))  // "LIFEBOAT"
        while mask.nonzeroBitCount < ones {
            mask |= 1 << (16 + generator.next() % 48)
        }
        return mask
    }

    /// 256 pseudo-random 64-bit values (SplitMix64 from the seed "LIFEBOAT").
    static let gearTable: [UInt64] = {
        var generator = SplitMix64(seed: 0x4c49_4645_424f_4154)
        return (0..<256).map { _ in generator.next() }
    }()
    static let gearLeftTable: [UInt64] = gearTable.map { $0 << 1 }
}

/// SplitMix64 (Steele, Lea, Flood 2014): the fixed generator behind the gear table and masks.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
