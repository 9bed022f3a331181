import Foundation
import LifeboatTestSupport
import Testing

@testable import LifeboatCore

@Suite struct PipelineTests {
    @Test func sha256MatchesPublishedVectors() {
        #expect(SHA256Hasher.hex(of: Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256Hasher.hex(of: [UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test(arguments: [Compression.zstd(level: 3), .zstd(level: 19), .gzip(level: 6), .none])
    func roundTripKeepsEveryEntryAndDigest(compression: Compression) throws {
        let dir = ScratchDirectory("pipe")
        let stored = dir.path + "/c." + compression.fileExtension
        let blob = Array(FileHandle(forReadingAtPath: "/dev/urandom")!.readData(ofLength: 3_000_000))
        let text = Array(String(repeating: "the quick brown fox jumps over the lazy dog\n", count: 50_000).utf8)
        let written = try writeArchive(at: stored, compression: compression) { w in
            try w.addDirectory(path: ".", mode: 0o755, mtime: epochTime)
            try w.addBytes(path: "random.bin", blob, mtime: epochTime)
            try w.addBytes(path: "dir/text.txt", text, mode: 0o600, mtime: epochTime)
            try w.addSymlink(path: "link", target: "dir/text.txt", mode: 0o777, mtime: epochTime)
            try w.addBytes(path: "empty", [], mtime: epochTime)
        }
        // The stored digest is what an independent tool computes over the file.
        let independent = try runTool("/usr/bin/sha256sum", [stored]).split(separator: " ").first.map(String.init)
        #expect(independent == written.sha256)
        #expect(Int64((try FileManager.default.attributesOfItem(atPath: stored)[.size] as! NSNumber).intValue) == written.bytes)
        if compression != .none { #expect(written.bytes < Int64(blob.count + text.count)) }

        let reader = try openArchive(stored)
        var seen: [(ArchiveReader.Header, String, Int64)] = []
        while let header = try reader.next() {
            let digest = try reader.readData()
            seen.append((header, digest.sha256, digest.size))
        }
        let final = try reader.finish()
        #expect(final.sha256 == written.sha256)
        #expect(final.bytes == written.bytes)
        #expect(seen.map(\.0.path) == [".", "random.bin", "dir/text.txt", "link", "empty"])
        #expect(seen[1].1 == SHA256Hasher.hex(of: blob))
        #expect(seen[2].1 == SHA256Hasher.hex(of: text))
        #expect(seen[2].0.mode == 0o600)
        #expect(seen[2].0.mtime == 1_700_000_000 && seen[2].0.mtimeNanoseconds == 123_456_789)
        #expect(seen[3].0.target == "dir/text.txt")
        for (record, observed) in zip(written.entries, seen) {
            #expect(record.path == observed.0.path)
            #expect(record.size == observed.2)
            if record.kind == .file { #expect(record.sha256 == observed.1) }
        }
    }

    @Test func fileThatShrinksWhileReadIsPaddedAndFlagged() throws {
        let dir = ScratchDirectory("shrink")
        dir.write("f", "0123456789")
        let fd = open(dir.path + "/f", O_RDONLY)
        defer { close(fd) }
        var result: (record: EntryRecord, changed: Bool)?
        _ = try writeArchive(at: dir.path + "/out.tar", compression: .none) { w in
            // Claim 20 bytes: the file has only 10, as if it shrank after stat.
            result = try w.addFile(path: "f", mode: 0o644, mtime: epochTime, size: 20, from: fd, sourcePath: dir.path + "/f")
        }
        #expect(result?.changed == true)
        #expect(result?.record.sha256 == SHA256Hasher.hex(of: Array("0123456789".utf8) + [UInt8](repeating: 0, count: 10)))
    }

    @Test func compressionSettingsParseAndRejectNonsense() {
        #expect(Compression(parsing: "zstd") == .zstd(level: 3))
        #expect(Compression(parsing: "zstd:19") == .zstd(level: 19))
        #expect(Compression(parsing: "gzip:9") == .gzip(level: 9))
        #expect(Compression(parsing: "none") == Compression.none)
        for bad in ["zstd:99", "gzip:0", "lz4", "zstd:x", "none:1", ""] {
            #expect(Compression(parsing: bad) == nil, "\(bad) should be refused")
        }
    }
}
