import Foundation
import Testing

@testable import LifeboatCore

/// How `--include`, `--exclude`, `find` and `diff` read a component's entries.
@Suite struct EntrySelectionTests {
    static func entry(_ path: String, _ kind: EntryRecord.Kind = .file, sha: String? = "a", target: String? = nil) -> EntryRecord {
        EntryRecord(path: path, kind: kind, mode: 0o644, mtime: 1, mtimeNanoseconds: 0, size: 1, sha256: kind == .file ? sha : nil, target: target)
    }

    static let tree = [
        entry(".", .directory), entry("etc", .directory), entry("etc/app", .directory), entry("etc/app/app.yaml"),
        entry("etc/app/db.yaml"), entry("etc/apps", .directory), entry("etc/apps/x.conf"), entry("bin", .directory),
        entry("bin/tool"), entry("bin/tool-link", .hardlink, target: "bin/tool"),
    ]

    static func paths(_ selection: EntrySelection) -> [String] {
        let chosen = selection.select(tree)
        return tree.filter { chosen.contains($0.name.bytes) }.map(\.path)
    }

    @Test func aPatternMatchesThePathOrTheBaseNameAndCoversWhatIsBelowADirectory() {
        #expect(EntryPattern("*.yaml").matches(Array("etc/app/app.yaml".utf8)))
        #expect(EntryPattern("etc/app/*.yaml").matches(Array("etc/app/db.yaml".utf8)))
        // fnmatch(3) without FNM_PATHNAME, as `exclude:` has always matched: `*` crosses `/`.
        #expect(EntryPattern("etc/*.yaml").matches(Array("etc/app/db.yaml".utf8)))
        #expect(!EntryPattern("etc/*.yaml").matches(Array("bin/app.yaml".utf8)))
        #expect(EntryPattern("etc/app/").covers(Array("etc/app/db.yaml".utf8)))
        #expect(!EntryPattern("etc/app").covers(Array("etc/apps/x.conf".utf8)), "a path, not a prefix of a name")
    }

    @Test func anIncludeSelectsItsEntriesTheirDirectoriesAndTheRoot() {
        #expect(Self.paths(EntrySelection(include: ["app.yaml"], exclude: [])) == [".", "etc", "etc/app", "etc/app/app.yaml"])
        #expect(Self.paths(EntrySelection(include: ["etc/app"], exclude: ["db.yaml"])) == [".", "etc", "etc/app", "etc/app/app.yaml"])
    }

    @Test func aSelectedHardLinkBringsTheFileItNames() {
        #expect(Self.paths(EntrySelection(include: ["tool-link"], exclude: [])) == [".", "bin", "bin/tool", "bin/tool-link"])
    }

    @Test func anExcludeAloneSelectsTheRest() {
        #expect(!Self.paths(EntrySelection(include: [], exclude: ["etc"])).contains { $0.hasPrefix("etc") })
        #expect(Self.paths(EntrySelection(include: ["*.toml"], exclude: [])).isEmpty)
    }

    @Test func aDiffSortsEveryChangeIntoItsKind() {
        let old = [Self.entry(".", .directory), Self.entry("a"), Self.entry("b"), Self.entry("c"), Self.entry("d", .file)]
        var touched = Self.entry("c")
        touched.mode = 0o600
        let new = [
            Self.entry(".", .directory), Self.entry("a"), Self.entry("b", sha: "changed"), touched, Self.entry("d", .directory), Self.entry("e"),
        ]
        let diff = SnapshotDiff.compare(old, new, source: "cfg")
        #expect(diff.added == ["e"] && diff.modified == ["b"] && diff.metadataChanged == ["c"] && diff.typeChanged == ["d"])
        #expect(diff.removed.isEmpty)
        #expect(SnapshotDiff.compare(new, old, source: "cfg").removed == ["e"])
    }

    @Test func anEntryPathIsAPathNotAPattern() {
        let path = EntryPath("./etc/app/")
        #expect(path.contains(Array("etc/app".utf8)) && path.contains(Array("etc/app/app.yaml".utf8)))
        #expect(!path.contains(Array("etc/apps/x.conf".utf8)))
        #expect(EntryPath("").isWhole && EntryPath(".").isWhole)
    }
}
