/// Reads one stored component and proves it while it goes: each entry is matched against the
/// manifest (`EntryMatcher`), its path is proven safe (`SafePath`), its content digest checked,
/// and at the end the stored file's own SHA-256. Adapters restore only through this reader.
public final class ComponentReader {
    /// An entry as the manifest vouches for it, with the stored header and its safe path.
    public struct Entry {
        public let record: EntryRecord
        public let header: ArchiveReader.Header
        public let path: SafePath
    }

    /// The stored stream, opened at the first `next()`, so that nothing is read before the
    /// caller had its say (`hold`).
    private var opened: ArchiveReader?
    private let input: any ObjectReader
    private let location: String
    /// Format 2: the chunks the stream is read from (a delta restore holds some of them).
    private let chunked: ChunkedStreamReader?
    private var matcher: EntryMatcher
    private var current: EntryRecord?
    /// Every path seen so far, and which of them are not directories: an entry below a symlink
    /// or a file, or a path stored twice, is refused here, so `verify --deep` reports exactly
    /// what `restore` would refuse.
    private var seen = Set<[UInt8]>()
    private var nonDirectories = Set<[UInt8]>()
    /// Regular files seen so far: the only possible targets of a hard link.
    private var files = Set<[UInt8]>()
    public var component: Manifest.Component { matcher.component }

    /// Opens `component` of `snapshot` in `repository`; a missing file is an integrity failure.
    public convenience init(repository: Repository, snapshot: Manifest, component: Manifest.Component) throws {
        try self.init(repository: repository, snapshot: snapshot, component: component, store: nil)
    }

    /// For a restore: format-2 chunks are not hashed against their ids once more, since every
    /// entry's content is proven by its SHA-256 here (`ChunkedStreamReader.init`).
    public static func forRestore(repository: Repository, snapshot: Manifest, component: Manifest.Component) throws -> ComponentReader {
        try ComponentReader(repository: repository, snapshot: snapshot, component: component, store: nil, provesChunks: false)
    }

    /// With `store`: format-2 chunks are read through it (its index loaded once for many reads).
    init(repository: Repository, snapshot: Manifest, component: Manifest.Component, store: ChunkStore?, provesChunks: Bool = true) throws {
        matcher = EntryMatcher(snapshot: snapshot, component: component)
        guard let input = try repository.open(component, store: store, provesChunks: provesChunks) else {
            throw matcher.failure("stored file \(component.file) is missing")
        }
        chunked = input as? ChunkedStreamReader
        self.input = input
        location = "\(repository.location)/\(component.file)"
    }

    deinit {
        if opened == nil { input.close() }  // an opened ArchiveReader closes it
    }

    /// The archive reader over the stream, opened on first use.
    private var reader: ArchiveReader {
        get throws {
            if let opened { return opened }
            do {
                let reader = try ArchiveReader(input: input, path: location)
                opened = reader
                return reader
            } catch let error as LifeboatError {
                throw matcher.failure(error.message)
            }
        }
    }

    /// The next entry, or nil when the manifest's entries are all read.
    public func next() throws -> Entry? {
        if current != nil { try readData { _ in } }  // skip what the caller did not read
        let header: ArchiveReader.Header?
        do {
            header = try reader.next()  // opens the stream the first time
        } catch let error as LifeboatError {
            throw matcher.failure(error.message)
        }
        guard let header else {
            try matcher.finish(stored: try opened!.finish())
            return nil
        }
        let record = try matcher.expect(header)
        let path: SafePath
        do {
            path = try SafePath(header.name)
        } catch let error as LifeboatError {
            throw matcher.failure(error.message)
        }
        try checkPlacement(path, record: record)
        current = record
        return Entry(record: record, header: header, path: path)
    }

    private func checkPlacement(_ path: SafePath, record: EntryRecord) throws {
        let full = path.relativeBytes
        guard seen.insert(full).inserted else {
            throw matcher.failure("entry \"\(record.path)\" is stored twice; a restore would refuse it")
        }
        var prefix: [UInt8] = []
        for component in path.componentBytes.dropLast() {
            prefix += prefix.isEmpty ? component : [0x2f] + component
            if nonDirectories.contains(prefix) {
                throw matcher.failure(
                    "entry \"\(record.path)\" would be written through the symlink or file \"\(EntryName(bytes: prefix))\" and could land outside the target; a restore refuses it"
                )
            }
        }
        if record.kind == .hardlink {
            let target = record.targetName.flatMap { try? SafePath($0) }
            let targetBytes = target?.relativeBytes
            guard let targetBytes, files.contains(targetBytes) else {
                throw matcher.failure(
                    "entry \"\(record.path)\" is a hard link to \"\(record.target ?? "")\", which is not an earlier file of this component; a restore refuses it"
                )
            }
        }
        if record.kind == .file { files.insert(full) }
        if record.kind != .directory { nonDirectories.insert(full) }
    }

    /// In a format-2 repository, the stream's chunks that `holds` names (by their number in the
    /// component's chunk list, as entries' `chunks` give them) are not fetched from here on: the
    /// caller has their content and passes over those entries with `skipProvenData`. Given before
    /// the first `next()`, no pack is fetched for them at all. False in a format-1 repository,
    /// whose stream is read whole.
    func hold(chunks holds: @escaping @Sendable (Int) -> Bool) -> Bool {
        chunked?.hold(holds)
        return chunked != nil
    }

    /// Format 2: the stream's chunks (ids and lengths), against which a delta restore compares
    /// the files in place; nil in format 1.
    var chunkLayout: ChunkLayout? { chunked?.layout }

    /// How much of the stream `hold` spared: the held chunks' bytes, not fetched.
    var heldBytes: Int64 { chunked?.heldBytes ?? 0 }

    /// Passes over the current entry's content unread and unchecked, for a caller that proved it
    /// otherwise: a delta restore's file whose size and SHA-256 in place are the entry's.
    func skipProvenData() throws {
        guard current != nil else { return }
        current = nil
        do {
            try opened!.skipData()
        } catch let error as LifeboatError where error.code == .integrity {
            throw matcher.failure(error.message)
        }
    }

    /// Streams the current entry's content to `body`, then checks its size and SHA-256. The
    /// holes of a sparse file reach `body` as zeros, or `hole` as lengths when it is given.
    public func readData(_ body: (UnsafeRawBufferPointer) throws -> Void, hole: ((Int64) throws -> Void)? = nil) throws {
        guard let record = current else { return }
        current = nil
        let digest: (sha256: String, size: Int64)
        do {
            digest = try opened!.readData(body, hole: hole)
        } catch let error as LifeboatError where error.code == .integrity {
            throw matcher.failure("entry \"\(record.path)\": \(error.message)")
        }
        try matcher.check(record, sha256: digest.sha256, size: digest.size)
    }
}
