import Foundation
import Testing

@testable import LifeboatCore

@Suite struct FastCDCTests {
    static func random(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        var out = [UInt8](repeating: 0, count: count)
        var i = 0
        while i < count {
            var v = generator.next()
            for _ in 0..<8 where i < count {
                out[i] = UInt8(truncatingIfNeeded: v)
                v >>= 8
                i += 1
            }
        }
        return out
    }

    /// Chunk lengths of `data` fed in pieces of `piece` bytes.
    static func lengths(_ data: [UInt8], piece: Int, parameters: FastCDC.Parameters = .standard) -> [Int] {
        var chunker = FastCDC(parameters)
        var out: [Int] = []
        var at = 0
        data.withUnsafeBytes { all in
            while at < data.count {
                let end = min(data.count, at + piece)
                chunker.push(UnsafeRawBufferPointer(rebasing: all[at..<end])) { out.append($0.count) }
                at = end
            }
        }
        chunker.finish { out.append($0.count) }
        return out
    }

    static func chunks(_ data: [UInt8]) -> [[UInt8]] {
        var chunker = FastCDC()
        var out: [[UInt8]] = []
        data.withUnsafeBytes { chunker.push($0) { out.append(Array($0)) } }
        chunker.finish { out.append(Array($0)) }
        return out
    }

    @Test func sizesStayWithinTheBoundsAndAverageNearTheNormalSize() {
        let data = Self.random(64 << 20, seed: 1)
        let lengths = Self.lengths(data, piece: 1 << 20)
        let p = FastCDC.Parameters.standard
        #expect(lengths.reduce(0, +) == data.count)
        #expect(lengths.dropLast().allSatisfy { $0 >= p.minimum && $0 <= p.maximum })
        let average = Double(data.count) / Double(lengths.count)
        #expect(average > 0.7 * Double(p.normal) && average < 1.5 * Double(p.normal), "average \(average)")
        // Normalized chunking: few chunks far from the normal size.
        let far = lengths.dropLast().filter { $0 < p.normal / 2 || $0 > 2 * p.normal }.count
        #expect(Double(far) / Double(lengths.count) < 0.2, "\(far) of \(lengths.count)")
    }

    @Test(arguments: [1, 7, 4096, 65_537, 3 << 20, 64 << 20])
    func boundariesDoNotDependOnHowTheStreamIsCut(piece: Int) {
        let data = Self.random(24 << 20, seed: 2)
        #expect(Self.lengths(data, piece: piece) == Self.lengths(data, piece: data.count))
    }

    @Test func anInsertionMovesOnlyTheCutsNearIt() {
        let data = Self.random(48 << 20, seed: 3)
        var edited = data
        edited.insert(contentsOf: Array("an inserted line\n".utf8), at: 20 << 20)
        edited.removeSubrange((40 << 20)..<((40 << 20) + 5000))
        let before = Set(Self.chunks(data).map { SHA256Hasher.hex(of: $0) })
        let after = Self.chunks(edited).map { SHA256Hasher.hex(of: $0) }
        let shared = after.filter(before.contains).count
        #expect(after.count - shared <= 6, "\(after.count - shared) of \(after.count) chunks changed")
    }

    @Test func smallInputsAreOneChunkAndEmptyInputNone() {
        #expect(Self.lengths(Array(repeating: 7, count: 1000), piece: 100) == [1000])
        #expect(Self.lengths([], piece: 1).isEmpty)
        // A run of one byte value never cuts (the gear hash stays regular): maximum-size chunks.
        let p = FastCDC.Parameters.standard
        #expect(Self.lengths(Array(repeating: 0, count: 10 << 20), piece: 1 << 20).dropLast().allSatisfy { $0 == p.maximum })
    }

    @Test func theGearTableAndMasksAreTheDocumentedOnes() {
        // docs/FORMAT.md gives these values (computed there by an independent Python snippet); a
        // change would re-chunk every repository and lose deduplication against stored data.
        #expect(FastCDC.gearTable.count == 256)
        #expect(FastCDC.gearTable[0] == 0xef70_4a02_85be_dcec)
        #expect(FastCDC.gearTable[255] == 0xc99d_9f72_cbf3_c83e)
        #expect(FastCDC.mask(ones: 22) == 0x18cc_f5a7_1489_0000)
        #expect(FastCDC.mask(ones: 18) == 0x6440_0e32_8c76_0000)
    }
}
