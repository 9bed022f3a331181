import Foundation

/// Where an `ArchiveWriter`'s entries go as they are written: kept in memory (a format-1
/// manifest holds them), or spooled as JSON Lines to a temporary file, so a format-2 backup of a
/// 200,000-file tree holds no entry in memory and its entry list is stored from the file. The
/// last entry stays open until the next one starts (its content chunk range is known then).
final class EntrySpool {
    private(set) var count = 0
    private var kept: [EntryRecord] = []
    private var last: EntryRecord?
    private var fd: Int32 = -1
    private let path: String?
    private var pending: [UInt8] = []
    private let encoder: JSONEncoder = EntryList.lineEncoder()

    /// In memory.
    init() { path = nil }

    /// Spooled to a new file in `directory` (removed when the spool goes).
    init(directory: String) throws {
        let path = "\(directory)/entries-\(Hex.random(bytes: 8)).jsonl"
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LifeboatError.system("cannot create", path: path) }
        self.path = path
    }

    deinit {
        if fd >= 0 { close(fd) }
        if let path { unlink(path) }
    }

    func append(_ record: EntryRecord) throws {
        if let last { try keep(last) }
        last = record
        count += 1
    }

    /// Sets the content chunk range of the entry appended last.
    func setLastChunks(_ chunks: [Int]) { last?.chunks = chunks }

    /// The entries, in order (in memory only).
    var entries: [EntryRecord] {
        precondition(path == nil, "a spooled writer's entries are in its spool file")
        return kept + (last.map { [$0] } ?? [])
    }

    /// Ends a spooled writer's entries and feeds the file's bytes to `body` in blocks.
    func readBack(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let path else { return }
        if let last { try keep(last) }
        last = nil
        try flushPending()
        var block = [UInt8](repeating: 0, count: 1 << 20)
        var offset: off_t = 0
        while true {
            let n = try block.withUnsafeMutableBytes { try FileIO.read(fd, into: $0, at: Int64(offset), path: path) }
            if n == 0 { break }
            try block.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            offset += off_t(n)
        }
    }

    private func keep(_ record: EntryRecord) throws {
        guard path != nil else { return kept.append(record) }
        pending += try encoder.encode(record)
        pending.append(0x0a)
        if pending.count >= 1 << 20 { try flushPending() }
    }

    private func flushPending() throws {
        guard let path, !pending.isEmpty else { return }
        try pending.withUnsafeBytes { try FileIO.writeAll(fd, $0, path: path) }
        pending.removeAll(keepingCapacity: true)
    }
}
