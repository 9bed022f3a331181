import Foundation

/// One source's scratch target during a drill: the plan's values for it, and its source type's
/// `DrillHook`, which says how to restore into it, run checks against it and remove it
/// afterwards. Also the target of a whole-system restore (`SystemRestore`), which keeps it.
final class ScratchTarget {
    let source: DrillPlan.Source
    let type: String
    let directory: String?
    /// A scratch database's name (PostgreSQL logical): the plan's, or one made for this drill.
    let database: String?
    /// The control program of a server the restore started (PostgreSQL's pg_ctl), for teardown.
    var serverTool: String?
    private let hook: any DrillHook

    init(source: DrillPlan.Source, configured: any SourceAdapter, started: Date) throws {
        self.source = source
        type = Swift.type(of: configured).type
        directory = source.target.directory.map(FileIO.absolute)
        guard let hook = configured as? any DrillHook else {
            throw LifeboatError(.invalidInput, "drill source \"\(source.name)\": \(type) sources cannot be drilled yet")
        }
        self.hook = hook
        database = hook.scratchDatabase(source, started: started)
        try hook.validateDrillTarget(self)
    }

    /// The target that puts the snapshot into this scratch target, and how to restore there.
    func restoreTarget(component: Manifest.Component, repository: Repository, at: String?) throws -> (RestoreTarget, RestoreOptions) {
        try hook.drillRestore(self, component: component, repository: repository, at: at)
    }

    /// `command` with `{directory}` and `{port}` replaced by this target's.
    func expand(_ command: String) -> String {
        command.replacingOccurrences(of: "{directory}", with: directory ?? "")
            .replacingOccurrences(of: "{port}", with: source.target.port.map(String.init) ?? "")
    }

    /// Runs one check; returns whether it passed and what was seen.
    func evaluate(_ check: DrillCheck, component: Manifest.Component) -> (Bool, String) {
        do {
            if case .filesEntries = check {
                guard let directory else { return (false, "no directory") }
                let count = Self.countEntries(directory)
                return (count == component.entryCount, "\(count) entries, the snapshot has \(component.entryCount)")
            }
            guard let result = try hook.evaluate(check, self, component: component) else {
                return (false, "\(check) does not apply to a \(type) source")
            }
            return result
        } catch let error as LifeboatError {
            return (false, error.message)
        } catch {
            return (false, "\(error)")
        }
    }

    /// The newest heartbeat the recovered target holds (failover drills), if any.
    func newestHeartbeat() -> Heartbeat? { hook.newestHeartbeat(self) }

    /// The `heartbeats: recovered` check against this drill's acknowledged marks; nil marks when
    /// the drill wrote none here (a restore drill, or a source not killed).
    func evaluateHeartbeats(acknowledged: [Int64]?) -> (Bool, String) {
        guard let acknowledged else { return (false, "no heartbeats were written to this source: it needs `primary:` in a failover drill") }
        do {
            guard let present = try hook.heartbeatMarks(self, from: acknowledged.first ?? 0) else {
                return (false, "a \(type) source keeps only its newest heartbeat; the check needs one row per heartbeat (PostgreSQL)")
            }
            return Heartbeat.holes(acknowledged: acknowledged, present: present)
        } catch let error as LifeboatError {
            return (false, error.message)
        } catch {
            return (false, "\(error)")
        }
    }

    /// Entries below `directory`, counting the directory itself (`.`) as the snapshot does.
    static func countEntries(_ directory: String) -> Int {
        var count = 1
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while enumerator?.nextObject() != nil { count += 1 }
        return count
    }

    /// Stops what the drill started and removes what it created.
    func tearDown() {
        hook.tearDown(self)
        if let directory {
            try? FileManager.default.removeItem(atPath: directory)
            let parent = (directory as NSString).deletingLastPathComponent
            for name in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
            where name.hasPrefix((directory as NSString).lastPathComponent + ".lifeboat-") {
                try? FileManager.default.removeItem(atPath: parent + "/" + name)
            }
        }
    }
}
