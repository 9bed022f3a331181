import Foundation
import Testing

@testable import LifeboatCore

/// `CronSchedule.previousFiring` against an independent model: a brute-force walk back over real
/// minutes (UTC instants), reading each one's wall clock through Foundation's `Calendar`, with
/// its own field expansion and Vixie cron's day rule (either day field starting with `*` makes
/// the two fields AND, else OR).
@Suite struct CronModelTests {
    struct Model {
        var fields: [Set<Int>]
        var domStar: Bool
        var dowStar: Bool

        init(_ expression: String) {
            let parts = expression.split(separator: " ").map(String.init)
            let ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
            fields = zip(parts, ranges).map { Model.expand($0, low: $1.0, high: $1.1) }
            fields[4] = Set(fields[4].map { $0 == 7 ? 0 : $0 })
            domStar = parts[2].first == "*"
            dowStar = parts[4].first == "*"
        }

        static func expand(_ field: String, low: Int, high: Int) -> Set<Int> {
            var out = Set<Int>()
            for item in field.split(separator: ",") {
                let slash = item.split(separator: "/")
                let step = slash.count > 1 ? Int(slash[1])! : 1
                var a = low
                var b = high
                if slash[0] != "*" {
                    let dash = slash[0].split(separator: "-")
                    a = Int(dash[0])!
                    b = dash.count > 1 ? Int(dash[1])! : (slash.count > 1 ? high : a)
                }
                var v = a
                while v <= b {
                    out.insert(v)
                    v += step
                }
            }
            return out
        }

        func matches(_ c: DateComponents) -> Bool {
            guard fields[0].contains(c.minute!), fields[1].contains(c.hour!), fields[3].contains(c.month!) else { return false }
            let dom = fields[2].contains(c.day!)
            let dow = fields[4].contains(c.weekday! - 1)
            return domStar || dowStar ? dom && dow : dom || dow
        }
    }

    static func randomField(_ low: Int, _ high: Int, dense: Bool, using rng: inout some RandomNumberGenerator) -> String {
        switch Int.random(in: 0..<(dense ? 6 : 7), using: &rng) {
        case 0: return "*"
        case 1: return "*/\(Int.random(in: 2...max(2, (high - low) / 2), using: &rng))"
        case 2:
            let a = Int.random(in: low...high, using: &rng)
            return "\(a)-\(Int.random(in: a...high, using: &rng))"
        case 3:
            let a = Int.random(in: low...high, using: &rng)
            return "\(a)-\(Int.random(in: a...high, using: &rng))/\(Int.random(in: 1...3, using: &rng))"
        case 4: return "\(Int.random(in: low...high, using: &rng)),\(Int.random(in: low...high, using: &rng))"
        case 5: return "\(Int.random(in: low...high, using: &rng))/\(Int.random(in: 2...4, using: &rng))"
        default: return "\(Int.random(in: low...high, using: &rng))"
        }
    }

    @Test(arguments: ["UTC", "Europe/Berlin", "America/New_York"])
    func agreesWithABruteForceModel(zoneName: String) throws {
        let zone = TimeZone(identifier: zoneName)!
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        var rng = SeededGenerator(seed: UInt64(zoneName.utf8.reduce(7) { $0 &* 31 &+ UInt64($1) }))
        var checked = 0
        for _ in 0..<40 {
            let expression = [
                Self.randomField(0, 59, dense: true, using: &rng), Self.randomField(0, 23, dense: true, using: &rng),
                Self.randomField(1, 31, dense: false, using: &rng), "*",
                Self.randomField(0, 7, dense: false, using: &rng),
            ].joined(separator: " ")
            let cron = try CronSchedule(parsing: expression)
            let model = Model(expression)
            // A random minute in 2026, avoiding the hours around DST changes, where a wall-clock
            // minute is missing or repeated and cron implementations legitimately differ.
            let now = Date(timeIntervalSince1970: 1_767_225_600 + Double(Int.random(in: 0..<(364 * 1440), using: &rng) * 60))
            let window = 10 * 1440
            var expected: Date?
            for back in 0..<window {
                let t = now.addingTimeInterval(Double(-back * 60))
                if model.matches(calendar.dateComponents([.minute, .hour, .day, .month, .weekday], from: t)) {
                    expected = t
                    break
                }
            }
            let actual = cron.previousFiring(atOrBefore: now, in: zone)
            let nearDST = abs(zone.secondsFromGMT(for: now) - zone.secondsFromGMT(for: now.addingTimeInterval(Double(-window * 60)))) > 0
            if nearDST { continue }
            if let expected {
                #expect(actual == expected, "\(expression) at \(now) in \(zoneName)")
            } else {
                #expect(actual == nil || actual! < now.addingTimeInterval(Double(-window * 60)), "\(expression) at \(now) in \(zoneName)")
            }
            checked += 1
        }
        #expect(checked >= 20)
    }

    @Test func steppedStarInADayFieldStillSelectsDays() throws {
        // Regression (#13 item 11): `*/2` in day-of-month fired every day.
        let cron = try CronSchedule(parsing: "0 0 */2 * *")
        let utc = TimeZone(identifier: "UTC")!
        let firing = cron.previousFiring(atOrBefore: Timestamp.parse("2026-11-22T12:00:00Z")!, in: utc)
        #expect(firing == Timestamp.parse("2026-11-21T00:00:00Z"))
        let weekly = try CronSchedule(parsing: "0 0 * * */3")  // Sunday, Wednesday, Saturday
        #expect(weekly.previousFiring(atOrBefore: Timestamp.parse("2026-11-24T12:00:00Z")!, in: utc) == Timestamp.parse("2026-11-22T00:00:00Z"))
    }
}
