import Foundation
import LifeboatTestSupport
import Testing

@testable import LifeboatCore

/// A dump stored as parts: parts end where the content says, so bytes inserted near the start
/// of a dump leave the later parts as they were (what lets format 2 deduplicate a grown table).
@Suite struct SegmentedStreamTests {
    static func parts(of data: [UInt8], in scratch: ScratchDirectory, _ label: String) throws -> [EntryRecord] {
        let input = scratch.path + "/\(label).dump"
        try Data(data).write(to: URL(fileURLWithPath: input))
        let fd = open(input, O_RDONLY)
        defer { close(fd) }
        let (_, _, entries) = try writeArchive(at: scratch.path + "/\(label).tar.zst", compression: .default) { writer in
            _ = try SegmentedStream.store(from: fd, source: "test", prefix: "dump/part-", into: writer, mtime: epochTime)
        }
        return entries
    }

    @Test func partsAreContentDefinedSoAnInsertionMovesOnlyThePartsAroundIt() throws {
        let scratch = ScratchDirectory("segments")
        let data = FastCDCTests.random(40 << 20, seed: 9)
        var grown = data
        grown.insert(contentsOf: FastCDCTests.random(50_000, seed: 10), at: 3 << 20)
        let before = try Self.parts(of: data, in: scratch, "before")
        let after = try Self.parts(of: grown, in: scratch, "after")
        #expect(before.reduce(0) { $0 + $1.size } == Int64(data.count))
        #expect(after.reduce(0) { $0 + $1.size } == Int64(grown.count))
        #expect(before.allSatisfy { $0.size <= Int64(SegmentedStream.partSize) })
        #expect(before.count > 10 && before.dropLast().allSatisfy { $0.size >= Int64(SegmentedStream.partSize / 8) })
        let unchanged = Set(before.compactMap(\.sha256)).intersection(after.compactMap(\.sha256)).count
        #expect(unchanged >= before.count - 3, "\(unchanged) of \(before.count) parts unchanged")
    }

    @Test func theReassembledPartsAreTheStreamAndAnEmptyStreamIsOneEmptyPart() throws {
        let scratch = ScratchDirectory("segments-read")
        let data = FastCDCTests.random(9 << 20 + 333, seed: 11)
        let entries = try Self.parts(of: data, in: scratch, "whole")
        let reader = try openArchive(scratch.path + "/whole.tar.zst")
        var back: [UInt8] = []
        while let header = try reader.next() {
            #expect(SegmentedStream.isPart(header.name.text, prefix: "dump/part-"))
            try reader.readData { back.append(contentsOf: $0) }
        }
        #expect(back == data && entries.count >= 3)
        let empty = try Self.parts(of: [], in: scratch, "empty")
        #expect(empty.count == 1 && empty[0].size == 0)
    }
}
