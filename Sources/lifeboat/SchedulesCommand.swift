import ArgumentParser
import Foundation
import LifeboatCore

struct SchedulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedules", abstract: "Show when each schedule fires next.",
        usage: "lifeboat schedules --policy F [--from TIME] [--count N] [--json]",
        discussion: """
            Each schedule's next firings in UTC, with the wall-clock time in the policy's time
            zone beside them. Across a DST change a time in the skipped hour fires that far
            after the change (02:30 becomes 03:30); a time in the repeated hour fires once, at
            its first occurrence, except in schedules that run every hour.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The policy file.")
    var policy: String

    @Option(name: .long, help: "Firings after this RFC 3339 time (default: now).")
    var from: String?

    @Option(name: .long, help: "How many firings per schedule (1–1000, default 5).")
    var count = 5

    func run() async throws {
        let loaded = try PolicyLoader.load(path: policy)
        guard (1...1000).contains(count) else {
            throw LifeboatError(.invalidInput, "--count \(count) is out of range", fix: "give a count from 1 to 1000")
        }
        var start = Clock.now()
        if let from {
            guard let parsed = Timestamp.parse(from) else {
                throw LifeboatError(.invalidInput, "--from \(from) is not an RFC 3339 time", fix: "write e.g. 2026-11-22T02:00:00Z")
            }
            start = parsed
        }
        let firings = ScheduleFirings.of(loaded, after: start, count: count)
        if global.json {
            try Console.json(firings)
            return
        }
        if firings.isEmpty { print("\(policy) has no schedules") }
        let local = DateFormatter()
        local.locale = Locale(identifier: "en_US_POSIX")
        local.timeZone = loaded.timeZone
        local.dateFormat = "EEE yyyy-MM-dd HH:mm zzz"
        for schedule in firings {
            print("\(schedule.name) (\(schedule.cron), \(schedule.timezone)):")
            for instant in schedule.next {
                let wallClock = loaded.timeZoneName == "UTC" ? nil : Timestamp.parse(instant).map(local.string(from:))
                print("  \(instant)\(wallClock.map { "  \($0)" } ?? "")")
            }
        }
    }
}
