import Foundation

/// `verify --deep` for a logical component: the dump's parts, in order, through
/// `pg_restore -f /dev/null`, which reads every data block (`pg_restore -l` alone reads only the
/// table of contents and misses a truncated dump). pg_restore starts with the first part.
final class DumpReadCheck: ComponentContentCheck {
    private let component: Manifest.Component
    private var child: RunningChild?
    private var open = true

    init(component: Manifest.Component) {
        self.component = component
    }

    func consume(_ bytes: UnsafeRawBufferPointer, of entry: EntryRecord) throws {
        guard SegmentedStream.isPart(entry.path, prefix: LogicalDump.dumpPrefix) else { return }
        if child == nil {
            let major = PostgresMetadata(component).serverMajor
            let pgRestore = try PostgresEndpoint(recordedIn: component).tool("pg_restore", major: major)
            child = try RunningChild([pgRestore, "--file", "/dev/null"], stdin: .pipe, stdout: .null)
        }
        if open { open = try child!.write(bytes) }
    }

    func finish() throws {
        guard let child else {
            throw LifeboatError(.integrity, "the logical component holds no pg_dump parts")
        }
        let code = try child.wait()
        guard code == 0 else {
            throw LifeboatError(.integrity, "pg_restore cannot read the dump (exit \(code)): \(child.errorText)")
        }
    }
}
