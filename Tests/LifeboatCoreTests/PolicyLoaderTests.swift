import Testing

@testable import LifeboatCore

@Suite struct PolicyLoaderTests {
    @Test func validPolicyLoads() throws {
        let policy = try PolicyLoader.parse(
            """
            repository: /var/backups/lifeboat
            compression: zstd:6
            sources:
              cfg: {type: files, path: /etc/app, exclude: ["*.tmp"]}
              env: {type: files, path: ./env}
            schedules:
              daily: {cron: "0 2 * * *"}
              hourly: {cron: "@hourly", sources: [env], compression: gzip}
            """, file: "/srv/policies/app.yaml")
        #expect(policy.repository == "/var/backups/lifeboat")
        #expect(policy.compression == .zstd(level: 6))
        #expect(policy.sources.map(\.name) == ["cfg", "env"])
        #expect((policy.sources[1] as? FilesAdapter)?.path == "/srv/policies/env")
        #expect((policy.sources[0] as? FilesAdapter)?.exclude == ["*.tmp"])
        let hourly = try #require(policy.schedule("hourly"))
        #expect(policy.sources(of: hourly).map(\.name) == ["env"])
        #expect(hourly.compression == .gzip(level: 6))
        #expect(policy.sources(of: try #require(policy.schedule("daily"))).count == 2)
    }

    /// Each bad policy must fail with exit-2 code, at the exact line and column, saying what to fix.
    @Test(arguments: [
        ("sources:\n  cfg: {type: files, path: /x}\nschedulez: {}\n", 3, 1, "did you mean \"schedules\""),
        ("sources:\n  cfg:\n    type: files\n    pathh: /x\n", 4, 5, "did you mean \"path\""),
        ("sources:\n  cfg: {type: filez, path: /x}\n", 2, 15, "did you mean \"files\""),
        ("sources:\n  cfg: {type: files}\n", 2, 8, "add `path:"),
        ("sources:\n  cfg: {type: files, path: /x}\nschedules:\n  daily: {cron: \"0 2 * *\"}\n", 4, 18, "it needs 5"),
        ("sources:\n  cfg: {type: files, path: /x}\nschedules:\n  daily: {cron: \"@often\"}\n", 4, 18, "@hourly"),
        ("sources:\n  cfg: {type: files, path: /x}\nschedules:\n  daily: {cron: \"0 2 * * *\", sources: [cgf]}\n", 4, 40, "did you mean \"cfg\""),
        ("sources:\n  cfg: {type: files, path: /x}\ncompression: brotli\n", 3, 14, "zstd"),
        ("sources:\n  cfg: {type: files, path: /x}\nschedules:\n  daily: {sources: [cfg]}\n", 4, 10, "cron:"),
        ("sources:\n  cfg: {type: files, path: [/x]}\n", 2, 28, "expected a string"),
        ("sources:\n  cfg: {type: files, path: /x\n", 3, 1, "indentation"),
        ("repository: /r\n", 1, 1, "sources:"),
        ("sources:\n  cfg: {type: files, path: /x}\nschedules:\n  daily: {cron: \"0 25 * * *\"}\n", 4, 20, "hour takes 0–23"),
        ("sources:\n  cfg: {type: files, path: /x}\nschedules:\n  daily: {cron: \"*/0 2 * * *\"}\n", 4, 18, "steps"),
        ("sources:\n  cfg: {type: files, path: /x}\nschedules:\n  w: {cron: \"0 3 * * sunday\"}\n", 4, 22, "day-of-week"),
        (
            "sources:\n  cfg: {type: files, path: /x}\nschedules:\n  d: {cron: \"0 2 * * *\", retention: {keep-daily: -1}}\n", 4, 50,
            "cannot be negative"
        ),
        ("sources:\n  cfg: {type: files, path: /x}\nschedules:\n  d: {cron: \"0 2 * * *\", retention: {keep-within: 2w}}\n", 4, 51, "units y"),
        (
            "sources:\n  cfg: {type: files, path: /x}\nschedules:\n  d: {cron: \"0 2 * * *\", retention: {keep-dialy: 7}}\n", 4, 38,
            "did you mean \"keep-daily\""
        ),
        ("sources:\n  cfg: {type: files, path: /x, objectives: {rpo: soon}}\n", 2, 50, "15m"),
        ("timezone: Mars/Olympus\nsources:\n  cfg: {type: files, path: /x}\n", 1, 11, "IANA"),
        ("sources:\n  cfg: {type: files, path: /x}\nnotify: {webhook: \"ftp://x\"}\n", 3, 19, "http(s)"),
        ("sources:\n  c fg: {type: files, path: /x}\n", 2, 9, "letters, digits"),
    ])
    func invalidPolicyPointsAtTheProblem(text: String, line: Int, column: Int, fixContains: String) {
        let error = #expect(throws: LifeboatError.self) { try PolicyLoader.parse(text, file: "p.yaml") }
        #expect(error?.code == .invalidInput)
        #expect(error?.code.exitCode == 2)
        #expect(error?.location == LifeboatError.Location(file: "p.yaml", line: line, column: column), "\(error?.description ?? "")")
        #expect(error?.description.contains(fixContains) == true, "\(error?.description ?? "")")
    }
}
