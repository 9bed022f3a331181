import Foundation

/// What `forget` does to a repository under a policy: for each (source, schedule) group whose
/// schedule has `retention`, the retention engine's verdict on the group's snapshots. A snapshot
/// is forgotten only when every group it belongs to drops it. Snapshots of schedules without
/// retention, or not in the policy (e.g. `manual`), are never touched.
public struct ForgetPlan: Sendable {
    /// One snapshot's place in a group's verdict.
    public struct Entry: Codable, Sendable {
        public var id: String
        public var name: String
        public var time: String
        public var reasons: [String]?
    }

    /// One (host, source, schedule) group; `host` is nil and `source` is `*` when the plan does
    /// not group by them.
    public struct Group: Codable, Sendable {
        public var host: String?
        public var source: String
        public var schedule: String
        public var keep: [Entry]
        public var remove: [Entry]
    }

    public var groups: [Group]
    /// Groups whose newest snapshot is further from the one before it than their `keep-within`
    /// span while the plan removes some of them: what a clock that jumped forward looks like
    /// (keep-within would then forget every real snapshot). `ClockGuard` refuses such a plan.
    public var jumps: [String] = []
    /// Ids of the snapshots to forget (every group they belong to removes them).
    public var forget: [String]

    /// What retention groups snapshots by, besides their schedule (whose rules apply): by default
    /// each host's and each source's snapshots are kept by the rules on their own, so one host's
    /// backups never push another's out (restic's default grouping is host and paths).
    public struct Grouping: Sendable, Equatable {
        public var host = true
        public var source = true
        public init(host: Bool = true, source: Bool = true) {
            self.host = host
            self.source = source
        }
    }

    /// `now`: `keep-within` never counts from a time later than it.
    public init(policy: Policy, snapshots: [Manifest], now: Date? = nil, grouping: Grouping = Grouping()) {
        var groups: [Group] = []
        var jumps: [String] = []
        var removedBy: [String: Int] = [:]
        var groupsOf: [String: Int] = [:]
        for schedule in policy.schedules {
            let scheduled = snapshots.filter { $0.schedule == schedule.name }
            let hosts: [String?] = grouping.host ? Array(Set(scheduled.map(\.host))).sorted() : [nil]
            for host in hosts {
                let members = scheduled.filter { m in host.map { m.host == $0 } ?? true }
                let sources: [String?] = grouping.source ? Array(Set(members.flatMap { $0.components.map(\.source) })).sorted() : [nil]
                for sourceKey in sources {
                    let group = members.filter { m in sourceKey.map { m.component($0) != nil } ?? true }
                    let source = sourceKey ?? "*"
                    let label = (host.map { "\($0) / " } ?? "") + source
                    for m in group { groupsOf[m.id, default: 0] += 1 }
                    guard let rules = schedule.retention else {
                        groups.append(
                            Group(
                                host: host, source: source, schedule: schedule.name,
                                keep: group.reversed().map { Entry(id: $0.id, name: $0.name, time: $0.started, reasons: ["no retention rule"]) },
                                remove: []))
                        continue
                    }
                    let retention = Retention(rules: rules, timeZone: policy.timeZone)
                    let times = group.map { Instant.parseRFC3339($0.started) ?? Instant($0.time) }
                    var keep: [Entry] = []
                    var remove: [Entry] = []
                    for d in retention.apply(times, now: now.map { Instant($0) }) {
                        let m = group[d.index]
                        // keep-tag first, as restic lists it; the count rules still see the snapshot.
                        let tagged = rules.tags.filter { (m.tags ?? []).contains($0) }.map { "has tag \($0)" }
                        if !tagged.isEmpty || d.kept {
                            let ruled = d.kept ? retention.reasons(d.matches) : []
                            keep.append(Entry(id: m.id, name: m.name, time: m.started, reasons: tagged + ruled))
                        } else {
                            remove.append(Entry(id: m.id, name: m.name, time: m.started, reasons: nil))
                            removedBy[m.id, default: 0] += 1
                        }
                    }
                    if let within = rules.within, !within.isZero, !remove.isEmpty {
                        let order = times.indices.sorted { times[$0] > times[$1] }
                        let gap = order.count >= 2 ? Double(times[order[0]].seconds - times[order[1]].seconds) : 0
                        if gap > within.approximateSeconds {
                            jumps.append(
                                "\(label) / \(schedule.name): the newest snapshot \(group[order[0]].name) is \(Int((gap / 3600).rounded())) h after the one before it, more than keep-within \(within)"
                            )
                        }
                    }
                    groups.append(Group(host: host, source: source, schedule: schedule.name, keep: keep, remove: remove))
                }
            }
        }
        self.groups = groups
        self.jumps = jumps
        forget = snapshots.filter { m in (removedBy[m.id] ?? 0) > 0 && removedBy[m.id] == groupsOf[m.id] }.map(\.id)
    }
}
