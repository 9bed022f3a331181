import Foundation

/// `lifeboat dump`: one entry's content, or a component (or a directory of it) as a pax tar
/// stream, written to a file descriptor with the safety rules of a restore. Every entry is read
/// through `ComponentReader`, so it is matched against the manifest and its SHA-256 checked. A
/// file's content is spooled and written out only once it is proven; a tar stream gets its
/// end-of-archive only once the whole stored component is proven, so a consumer of a damaged
/// snapshot sees a truncated archive and the command exits 3.
public struct ComponentDump {
    public let repository: Repository
    public let manifest: Manifest
    public let component: Manifest.Component

    public init(repository: Repository, manifest: Manifest, component: Manifest.Component) {
        self.repository = repository
        self.manifest = manifest
        self.component = component
    }

    /// The entry `path` names exactly, if any.
    public func entry(_ path: EntryPath) -> EntryRecord? {
        component.entries.first { $0.name.bytes == path.bytes }
    }

    /// Writes the content of the file entry `path` (a hard link: its file's) to `fd`; returns
    /// its size.
    public func writeFile(_ path: EntryPath, to fd: Int32, name: String = "stdout") throws -> Int64 {
        guard var record = entry(path) else { throw notFound(path) }
        if record.kind == .hardlink, let target = record.targetName, let file = component.entries.first(where: { $0.name == target }) {
            record = file
        }
        guard record.kind == .file else {
            throw LifeboatError(
                .invalidInput, "\(record.path) in \(component.source) is a \(record.kind.rawValue), not a file",
                fix: record.kind == .directory ? "dump it as a tar: it is, when PATH is a directory (`… | tar -t`)" : "`lifeboat ls -l` shows it")
        }
        let reader = try ComponentReader(repository: repository, snapshot: manifest, component: component)
        let spool = try ScratchSpool(directory: NSTemporaryDirectory(), name: "lifeboat-dump")
        while let entry = try reader.next() {
            guard entry.record.name == record.name else { continue }
            try reader.readData { try spool.write($0) }  // proven (SHA-256) when this returns
            try spool.copy(to: fd, path: name)
            return spool.size
        }
        throw notFound(path)
    }

    /// Writes the entries at and below `path` (everything when it is whole) as a pax tar to
    /// `fd`; returns how many.
    public func writeTar(_ path: EntryPath, to fd: Int32, name: String = "stdout") throws -> Int {
        let wanted = path.entries(of: component)
        guard !wanted.isEmpty || path.isWhole else { throw notFound(path) }
        let names = Set(wanted.map(\.name.bytes))
        let reader = try ComponentReader(repository: repository, snapshot: manifest, component: component)
        let utf8 = wanted.allSatisfy { $0.pathHex == nil && $0.targetHex == nil }
        let writer = try ArchiveWriter(output: DescriptorOutput(fd: fd, name: name), compression: .none, namesAsBytes: !utf8)
        var count = 0
        while let entry = try reader.next() {
            guard names.contains(entry.record.name.bytes) else { continue }
            let record = entry.record
            let time = timespec(tv_sec: Int(record.mtime), tv_nsec: Int(record.mtimeNanoseconds))
            let owner = entry.header.owner
            switch record.kind {
            case .directory:
                try writer.addDirectory(name: record.name, mode: record.mode, mtime: time, owner: owner)
            case .symlink:
                try writer.addSymlink(name: record.name, target: record.targetName ?? EntryName(""), mode: record.mode, mtime: time, owner: owner)
            case .hardlink:
                try writer.addHardlink(name: record.name, target: record.targetName ?? EntryName(""), mode: record.mode, mtime: time, owner: owner)
            case .file:
                _ = try writer.addStream(name: record.name, size: record.size, mode: record.mode, mtime: time, owner: owner) { feed in
                    try reader.readData(feed)  // holes arrive as zeros
                }
            }
            count += 1
        }
        _ = try writer.finish()  // only now, with the stored component proven, the end-of-archive
        return count
    }

    private func notFound(_ path: EntryPath) -> LifeboatError {
        LifeboatError(
            .invalidInput, "snapshot \(manifest.name) has no entry \"\(EntryName(bytes: path.bytes).text)\" in \(component.source)",
            fix: "`lifeboat ls \(manifest.name) --source \(component.source)` lists its entries")
    }
}
