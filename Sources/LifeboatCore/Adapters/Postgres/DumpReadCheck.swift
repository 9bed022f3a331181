import Foundation

/// `verify --deep` for a logical component: the dump's parts, in order, through
/// `pg_restore -f /dev/null`, which reads every data block (`pg_restore -l` alone reads only the
/// table of contents and misses a truncated dump). pg_restore starts with the first part. A
/// directory-format dump (`jobs: N`) is written into a scratch directory first (pg_restore
/// reads that format only from a directory) and pg_restore reads it at the end: its table of
/// contents and that every data file it names is there. pg_restore does not parse the rows of
/// a plain table data file, so each `NNNN.dat` must also end with pg_dump's end-of-data marker
/// (`\.` and three newlines): a file cut short fails.
final class DumpReadCheck: ComponentContentCheck {
    private let component: Manifest.Component
    private var child: RunningChild?
    private var open = true
    /// Directory format: the scratch copy and the file being written.
    private var directory: DumpDirectory?
    private var file: (fd: Int32, path: String, name: String)?
    /// The last bytes of the file being written, and the table data files that lack the marker.
    private var tail: [UInt8] = []
    private var incomplete: [String] = []
    static let endOfData = Array("\\.\n\n\n".utf8)

    init(component: Manifest.Component) {
        self.component = component
    }

    deinit { closeFile() }

    private func pgRestore() throws -> String {
        try PostgresEndpoint(recordedIn: component).tool("pg_restore", major: PostgresMetadata(component).serverMajor)
    }

    func begin(_ entry: EntryRecord) throws {
        closeFile()
        guard let name = DumpDirectory.fileName(of: entry.path) else { return }
        let directory = try self.directory ?? DumpDirectory(in: NSTemporaryDirectory(), label: "verify")
        self.directory = directory
        let path = "\(directory.path)/\(name)"
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LifeboatError.system("cannot create", path: path) }
        file = (fd, path, name)
        tail = []
    }

    func consume(_ bytes: UnsafeRawBufferPointer, of entry: EntryRecord) throws {
        if let file, DumpDirectory.fileName(of: entry.path) != nil {
            try FileIO.writeAll(file.fd, bytes, path: file.path)
            tail = Array((tail + bytes.suffix(Self.endOfData.count)).suffix(Self.endOfData.count))
            return
        }
        guard SegmentedStream.isPart(entry.path, prefix: LogicalDump.dumpPrefix) else { return }
        if child == nil {
            child = try RunningChild([try pgRestore(), "--file", "/dev/null"], stdin: .pipe, stdout: .null)
        }
        if open { open = try child!.write(bytes) }
    }

    func finish() throws {
        closeFile()
        if !incomplete.isEmpty {
            throw LifeboatError(
                .integrity,
                "table data file\(incomplete.count == 1 ? "" : "s") \(incomplete.prefix(5).joined(separator: ", ")) of the dump end\(incomplete.count == 1 ? "s" : "") before pg_dump's end-of-data marker: cut short"
            )
        }
        if let directory {
            let reading = try RunningChild([try pgRestore(), "--file", "/dev/null", directory.path], stdout: .null)
            child = reading
        }
        guard let child else {
            throw LifeboatError(.integrity, "the logical component holds no pg_dump parts")
        }
        let code = try child.wait()
        guard code == 0 else {
            throw LifeboatError(.integrity, "pg_restore cannot read the dump (exit \(code)): \(child.errorText)")
        }
    }

    private func closeFile() {
        guard let file else { return }
        close(file.fd)
        let isTableData = file.name.hasSuffix(".dat") && file.name.dropLast(4).allSatisfy(\.isNumber) && file.name.count > 4
        if isTableData && tail != Self.endOfData { incomplete.append(file.name) }
        self.file = nil
    }
}
