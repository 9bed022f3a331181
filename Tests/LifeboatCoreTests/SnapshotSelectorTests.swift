import Testing

@testable import LifeboatCore

@Suite struct SnapshotSelectorTests {
    func manifest(_ id: String, _ name: String, _ started: String, sources: [String] = ["cfg"]) -> Manifest {
        var m = ManifestTests.sample()
        m.id = id
        m.name = name
        m.started = started
        m.components = sources.map {
            var c = m.components[0]
            c.source = $0
            return c
        }
        return m
    }

    var snapshots: [Manifest] {
        [
            manifest("aaaa111122223333", "daily-20261120T020000Z", "2026-11-20T02:00:00Z"),
            manifest("aaaa999922223333", "daily-20261121T020000Z", "2026-11-21T02:00:00Z"),
            manifest("bbbb111122223333", "hourly-20261121T030000Z", "2026-11-21T03:00:00Z", sources: ["cache"]),
        ]
    }

    @Test func resolvesNamesIdPrefixesAndLatest() throws {
        #expect(try SnapshotSelector("daily-20261121T020000Z").resolve(in: snapshots).id == "aaaa999922223333")
        #expect(try SnapshotSelector("bbbb").resolve(in: snapshots).name == "hourly-20261121T030000Z")
        #expect(try SnapshotSelector("latest").resolve(in: snapshots).id == "bbbb111122223333")
        #expect(try SnapshotSelector("latest").resolve(in: snapshots, source: "cfg").id == "aaaa999922223333")
    }

    /// `--at T` picks each source by its own capture moment: a snapshot whose last source was
    /// captured after T still serves a source captured before T; manifests of older builds,
    /// without per-source moments, fall back to the snapshot-wide one.
    @Test func pointInTimeChoosesBySourcesOwnCaptureMoment() throws {
        var older = manifest("aaaa000000000001", "daily-1", "2026-11-20T02:00:00Z", sources: ["cache", "vectors"])
        older.recoveryPoint = "2026-11-20T02:00:30Z"
        var newer = manifest("aaaa000000000002", "daily-2", "2026-11-21T02:00:00Z", sources: ["cache", "vectors"])
        newer.components[0].metadata["recovery_point"] = .string("2026-11-21T02:00:01.250Z")
        newer.components[1].metadata["recovery_point"] = .string("2026-11-21T02:05:00.000Z")
        newer.recoveryPoint = "2026-11-21T02:05:00.000Z"
        let at = try #require(Timestamp.parse("2026-11-21T02:01:00Z"))
        #expect(try RestorePlan.latest(in: [older, newer], source: "cache", before: at).name == "daily-2")
        #expect(try RestorePlan.latest(in: [older, newer], source: "vectors", before: at).name == "daily-1")
        #expect(newer.recoveryPoint(of: "cache") == "2026-11-21T02:00:01.250Z" && older.recoveryPoint(of: "cache") == "2026-11-20T02:00:30Z")
    }

    @Test func ambiguousAndUnknownAreClearErrors() {
        let ambiguous = #expect(throws: LifeboatError.self) { try SnapshotSelector("aaaa").resolve(in: snapshots) }
        #expect(ambiguous?.code == .invalidInput)
        #expect(ambiguous?.message.contains("matches 2 snapshots") == true)
        let missing = #expect(throws: LifeboatError.self) { try SnapshotSelector("daily-2026").resolve(in: snapshots) }
        #expect(missing?.fix?.contains("hourly-20261121T030000Z") == true)
        #expect(throws: LifeboatError.self) { try SnapshotSelector("latest").resolve(in: [], source: nil) }
    }
}
