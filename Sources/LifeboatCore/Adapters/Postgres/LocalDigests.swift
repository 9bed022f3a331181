import Foundation

/// The delta restore's comparisons, computed by two threads ahead of the stream: for each file
/// entry (in stream order), whether the data directory's file already has its content. A file
/// that cannot be read counts as changed (it is rewritten).
///
/// A file whose content the format-2 stream holds as chunks of its own (its entry's `chunks`) is
/// compared chunk by chunk: each piece of it is read at its offset and its chunks' ids computed
/// as the store computes them (SHA-256, or HMAC-SHA256 in an encrypted repository), so that
/// both threads share one large file; equal ids for every chunk is equal content, as the entry's
/// SHA-256 would say. Other files are hashed whole and compared with the entry's SHA-256.
final class LocalDigests: @unchecked Sendable {
    /// A piece of work: a whole file, or `count` chunks of one starting at chunk `first`, at byte
    /// `offset` of the file.
    private struct Work {
        var file: Int
        var first = 0
        var count = 0
        var offset: Int64 = 0
        var whole: Bool { count == 0 }
    }

    private let condition = NSCondition()
    private let datadir: [UInt8]
    private let files: [(record: EntryRecord, relative: [UInt8])]
    private let layout: ChunkLayout?
    private var work: [Work] = []
    // Under `condition`.
    private var results: [[UInt8]: Bool] = [:]
    private var piecesLeft: [Int] = []
    private var claimed = 0
    private var running = 0
    private var cancelled = false

    /// Chunks per piece of a large file: a few MiB, so both threads share it.
    static let piece = 4

    init(datadir: String, entries: [EntryRecord], layout: ChunkLayout? = nil, threads: Int = 2) {
        self.datadir = Array(datadir.utf8)
        self.layout = layout
        files = entries.compactMap { record in
            guard record.kind == .file, let relative = Self.relative(record) else { return nil }
            return (record, relative)
        }
        piecesLeft = Array(repeating: 1, count: files.count)
        for (number, file) in files.enumerated() {
            guard let layout, let ranges = Self.chunkRange(file.record, layout) else {
                work.append(Work(file: number))
                continue
            }
            var offset: Int64 = 0
            var pieces = 0
            for first in stride(from: ranges.lowerBound, to: ranges.upperBound, by: Self.piece) {
                let count = min(Self.piece, ranges.upperBound - first)
                work.append(Work(file: number, first: first, count: count, offset: offset))
                offset += Int64(layout.lengths[first..<(first + count)].reduce(0, +))
                pieces += 1
            }
            piecesLeft[number] = pieces
        }
        running = threads
        for _ in 0..<threads { Thread.detachNewThread { [self] in loop() } }
    }

    /// An entry's path inside the data directory, `/`-separated, as the stream names it.
    static func relative(_ record: EntryRecord) -> [UInt8]? {
        (try? SafePath(record.name))?.relativeBytes
    }

    /// The chunks holding exactly the file's content and tar padding, when its entry says so and
    /// their lengths agree.
    private static func chunkRange(_ record: EntryRecord, _ layout: ChunkLayout) -> Range<Int>? {
        guard let chunks = record.chunks, chunks.count == 2, chunks[1] > 0, chunks[0] >= 0, chunks[0] + chunks[1] <= layout.ids.count
        else { return nil }
        let range = chunks[0]..<(chunks[0] + chunks[1])
        let padded = record.size + (512 - record.size % 512) % 512
        return Int64(layout.lengths[range].reduce(0, +)) == padded ? range : nil
    }

    private func loop() {
        var buffer = [UInt8](repeating: 0, count: 4 << 20)
        condition.lock()
        while !cancelled && claimed < work.count {
            let item = work[claimed]
            claimed += 1
            let file = files[item.file]
            let decided = results[file.relative] != nil  // a piece before found a difference
            condition.unlock()
            let same =
                decided
                ? false
                : ((try? compare(item, file.record, datadir + [0x2f] + file.relative, buffer: &buffer)) ?? false)
            condition.lock()
            piecesLeft[item.file] -= 1
            if !same && results[file.relative] == nil {
                results[file.relative] = false
                condition.broadcast()
            } else if piecesLeft[item.file] == 0 && results[file.relative] == nil {
                results[file.relative] = true
                condition.broadcast()
            }
        }
        running -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Whether the piece of the file at `path` holds what the backup has.
    private func compare(_ item: Work, _ record: EntryRecord, _ path: [UInt8], buffer: inout [UInt8]) throws -> Bool {
        let fd = EntryName.withCString(path) { open($0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int64(st.st_size) == record.size else { return false }
        let shown = EntryName(bytes: path).text
        guard !item.whole, let layout else {
            guard let expected = record.sha256 else { return false }
            let hasher = SHA256Hasher()
            while true {
                let n = try buffer.withUnsafeMutableBytes { try FileIO.read(fd, into: $0, path: shown) }
                if n == 0 { break }
                buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
            return hasher.finalize() == expected
        }
        var offset = item.offset
        for chunk in item.first..<(item.first + item.count) {
            let length = layout.lengths[chunk]
            if buffer.count < length { buffer = [UInt8](repeating: 0, count: length) }
            // Beyond the file's size the chunk holds tar padding: zeros.
            let inFile = Int(max(0, min(Int64(length), record.size - offset)))
            var got = 0
            while got < inFile {
                let n = try buffer.withUnsafeMutableBytes {
                    try FileIO.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: $0[got..<inFile]), at: offset + Int64(got), path: shown)
                }
                if n == 0 { return false }  // shorter than it said
                got += n
            }
            for i in inFile..<length { buffer[i] = 0 }
            let id = buffer.withUnsafeBytes { layout.id(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
            guard id == layout.ids[chunk] else { return false }
            offset += Int64(length)
        }
        return true
    }

    /// Waits for the comparison of the file at `relative`; false when there is none.
    func unchanged(_ relative: [UInt8]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while results[relative] == nil && running > 0 { condition.wait() }
        return results[relative] ?? false
    }

    /// Stops the threads after their current piece and waits for them.
    func cancel() {
        condition.lock()
        cancelled = true
        while running > 0 { condition.wait() }
        condition.unlock()
    }
}

/// A format-2 stream's chunks as a delta restore compares local files with them: their ids and
/// plain lengths, and the store's id function.
struct ChunkLayout: @unchecked Sendable {
    let ids: [ChunkId]
    let lengths: [Int]
    let id: (UnsafeRawBufferPointer) -> ChunkId
}

/// Which file entry's content each chunk of a format-2 stream is (entries' `chunks`), so that
/// the chunks of a file found unchanged are not fetched.
struct ChunkOwners: Sendable {
    private let ranges: [(first: Int, end: Int, relative: [UInt8])]

    init(_ entries: [EntryRecord]) {
        ranges = entries.compactMap { record in
            guard record.kind == .file, record.sha256 != nil, let chunks = record.chunks, chunks.count == 2, chunks[1] > 0,
                let relative = LocalDigests.relative(record)
            else { return nil }
            return (chunks[0], chunks[0] + chunks[1], relative)
        }.sorted { $0.first < $1.first }
    }

    /// The path of the file whose content holds chunk `number`, if one does.
    func file(of number: Int) -> [UInt8]? {
        var low = 0
        var high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].end <= number { low = middle + 1 } else { high = middle }
        }
        guard low < ranges.count, ranges[low].first <= number else { return nil }
        return ranges[low].relative
    }
}
