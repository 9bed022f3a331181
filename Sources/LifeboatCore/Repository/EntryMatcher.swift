/// Walks a component's tar stream against its manifest: every stored entry must appear in the
/// manifest in the same order with the same kind, size and content SHA-256, and nothing may be
/// missing or extra. Used by `verify --deep` and by every restore, so a restore never writes
/// content its manifest does not vouch for.
public struct EntryMatcher {
    public let snapshot: Manifest
    public let component: Manifest.Component
    private var index = 0

    public init(snapshot: Manifest, component: Manifest.Component) {
        self.snapshot = snapshot
        self.component = component
    }

    /// Checks a header against the next manifest entry and returns that entry.
    public mutating func expect(_ header: ArchiveReader.Header) throws -> EntryRecord {
        guard index < component.entries.count else {
            throw failure("entry \"\(header.path)\" is in the stored data but not in the manifest")
        }
        let expected = component.entries[index]
        index += 1
        guard header.name == expected.name else {
            throw failure("entry \"\(expected.path)\": stored data has \"\(header.path)\" in its place")
        }
        guard header.kind == expected.kind else {
            throw failure(
                "entry \"\(expected.path)\": stored as \(header.kind?.rawValue ?? "an unsupported type"), manifest says \(expected.kind.rawValue)")
        }
        guard header.size == expected.size, header.targetName == expected.targetName else {
            throw failure("entry \"\(expected.path)\": stored header differs from the manifest (size \(header.size) vs \(expected.size))")
        }
        return expected
    }

    /// Checks the content digest of the entry `expect` returned.
    public func check(_ expected: EntryRecord, sha256: String, size: Int64) throws {
        guard size == expected.size else {
            throw failure("entry \"\(expected.path)\": content is \(size) bytes, manifest says \(expected.size)")
        }
        if let want = expected.sha256, want != sha256 {
            throw failure("entry \"\(expected.path)\": content SHA-256 \(sha256.prefix(12))… does not match the manifest (\(want.prefix(12))…)")
        }
    }

    /// Checks that no manifest entry was missing, and the stored file's own digest.
    public func finish(stored: (sha256: String, bytes: Int64)) throws {
        guard index == component.entries.count else {
            throw failure("stored data ends after \(index) of \(component.entries.count) entries; missing \"\(component.entries[index].path)\"")
        }
        try checkStored(stored)
    }

    /// Checks the stored file's size and SHA-256 against the manifest.
    public func checkStored(_ stored: (sha256: String, bytes: Int64)) throws {
        guard stored.bytes == component.bytes, stored.sha256 == component.sha256 else {
            throw failure(
                "stored file \(component.file) is \(stored.bytes) bytes with SHA-256 \(stored.sha256.prefix(12))…; manifest says \(component.bytes) bytes, \(component.sha256.prefix(12))…"
            )
        }
    }

    /// An integrity error naming snapshot, component and what is wrong.
    public func failure(_ message: String) -> LifeboatError {
        LifeboatError(.integrity, "snapshot \(snapshot.name) (\(snapshot.id.prefix(8))), component \(component.source): \(message)")
    }
}
