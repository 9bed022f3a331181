import ArgumentParser
import Foundation
import LifeboatCore

struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention", abstract: "Retention rules without a repository.", subcommands: [RetentionPlanCommand.self])
}

/// The rule flags shared by every command that takes a rule set on the command line.
struct RetentionRuleOptions: ParsableArguments {
    @Option(name: .customLong("keep-last"), help: "Keep the N newest snapshots.") var last = 0
    @Option(name: .customLong("keep-hourly"), help: "Keep the newest snapshot of each of the last N hours that have one.") var hourly = 0
    @Option(name: .customLong("keep-daily"), help: "… of each of the last N days.") var daily = 0
    @Option(name: .customLong("keep-weekly"), help: "… of each of the last N ISO weeks (Monday start).") var weekly = 0
    @Option(name: .customLong("keep-monthly"), help: "… of each of the last N months.") var monthly = 0
    @Option(name: .customLong("keep-yearly"), help: "… of each of the last N years.") var yearly = 0
    @Option(name: .customLong("keep-within"), help: "Keep everything within DUR of the newest snapshot (e.g. 36h, 2d, 1y2m).") var within: String?
    @Option(name: .long, help: "IANA time zone for calendar buckets (default: each timestamp's own UTC offset).") var timezone: String?

    func retention() throws -> Retention {
        for (flag, value) in [
            ("--keep-last", last), ("--keep-hourly", hourly), ("--keep-daily", daily), ("--keep-weekly", weekly),
            ("--keep-monthly", monthly), ("--keep-yearly", yearly),
        ] where value < 0 {
            throw LifeboatError(.invalidInput, "\(flag) \(value): counts cannot be negative", fix: "give 0 (rule off) or a positive count")
        }
        for (flag, value) in [
            ("--keep-last", last), ("--keep-hourly", hourly), ("--keep-daily", daily), ("--keep-weekly", weekly),
            ("--keep-monthly", monthly), ("--keep-yearly", yearly),
        ] where value > RetentionRules.maxCount {
            throw LifeboatError(
                .invalidInput, "\(flag) \(value): the largest count accepted is \(RetentionRules.maxCount)",
                fix: "give a smaller count, or --keep-within for long spans")
        }
        var zone: TimeZone?
        if let timezone {
            guard let z = TimeZone(identifier: timezone) else {
                throw LifeboatError(
                    .invalidInput, "unknown time zone \"\(timezone)\"", fix: "use an IANA name such as UTC, Europe/Berlin or America/New_York")
            }
            zone = z
        }
        let rules = RetentionRules(
            last: last, hourly: hourly, daily: daily, weekly: weekly, monthly: monthly, yearly: yearly,
            within: try within.map { try RetentionDuration(parsing: $0) })
        return Retention(rules: rules, timeZone: zone)
    }
}

struct RetentionPlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "Show what a rule set keeps for given snapshot times (restic `forget` semantics).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var rules: RetentionRuleOptions

    @Option(name: .long, help: "File with one RFC 3339 timestamp per line, or - for stdin.")
    var times: String

    func run() async throws {
        let retention = try rules.retention()
        let data: Data
        if times == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: times) else {
                throw LifeboatError(.invalidInput, "cannot read \(times)", fix: "give a readable file, or - for stdin")
            }
            data = contents
        }
        let plan = try RetentionPlan(data: data, source: times == "-" ? "<stdin>" : times, retention: retention)
        FileHandle.standardOutput.write(global.json ? plan.json() : Data(plan.text().utf8))
    }
}
