import Foundation

/// What a drill, and a whole-system restore, needs from a source type: the scratch target its
/// plan entry describes, the checks it answers there, the newest heartbeat a failover drill
/// recovered, and how to remove what the drill created. Each adapter implements it beside its
/// restore (Adapters/NAME/NAMEDrill.swift); `ScratchTarget` only holds the plan's values and
/// calls it, so a new drillable source touches its own folder only.
protocol DrillHook: SourceAdapter {
    /// The scratch database a drill restores into, for sources restored into one.
    func scratchDatabase(_ source: DrillPlan.Source, started: Date) -> String?
    /// Refuses (exit 2, naming the missing key) a plan target this source cannot be drilled into.
    func validateDrillTarget(_ scratch: ScratchTarget) throws
    /// The restore target (and options) that puts the snapshot into the scratch target.
    func drillRestore(_ scratch: ScratchTarget, component: Manifest.Component, repository: Repository, at: String?) throws -> (
        RestoreTarget, RestoreOptions
    )
    /// Runs `check` against the restored scratch target; nil when this source has no such check.
    func evaluate(_ check: DrillCheck, _ scratch: ScratchTarget, component: Manifest.Component) throws -> (passed: Bool, detail: String)?
    /// The newest heartbeat the recovered target holds (failover drills).
    func newestHeartbeat(_ scratch: ScratchTarget) -> Heartbeat?
    /// Every heartbeat mark from `first` on that the recovered target holds, for sources that
    /// keep each heartbeat (PostgreSQL's rows); nil for those that keep only the newest (Redis).
    func heartbeatMarks(_ scratch: ScratchTarget, from first: Int64) throws -> [Int64]?
    /// Stops what the drill started (servers, databases); the directory is removed by the caller.
    func tearDown(_ scratch: ScratchTarget)
}

extension DrillHook {
    func scratchDatabase(_ source: DrillPlan.Source, started: Date) -> String? { nil }
    func validateDrillTarget(_ scratch: ScratchTarget) throws {}
    func evaluate(_ check: DrillCheck, _ scratch: ScratchTarget, component: Manifest.Component) throws -> (passed: Bool, detail: String)? { nil }
    func newestHeartbeat(_ scratch: ScratchTarget) -> Heartbeat? { nil }
    func heartbeatMarks(_ scratch: ScratchTarget, from first: Int64) throws -> [Int64]? { nil }
    func tearDown(_ scratch: ScratchTarget) {}

    /// Refuses a target without a directory.
    func requireDirectory(_ scratch: ScratchTarget) throws -> String {
        guard let directory = scratch.directory else {
            throw LifeboatError(.invalidInput, "drill source \"\(scratch.source.name)\" (\(Self.type)) needs target.directory")
        }
        return directory
    }
}
