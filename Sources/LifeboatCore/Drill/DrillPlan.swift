import Foundation

/// A drill plan (YAML, examples in `drills/`): which sources to restore where, what to check
/// afterwards, and the objectives to measure against (defaulting to the policy's).
///
/// ```yaml
/// drill: nightly-restore
/// policy: ../policies/prod.yaml        # sources, repository and objectives
/// kind: restore                        # non-destructive: scratch targets only
/// sources:
///   db:
///     target: {database: app_drill}    # postgres logical: a scratch database
///     checks:
///       - {sql: "SELECT count(*) FROM pgbench_accounts", expect: "500000"}
///       - {sql: "SELECT sum(abalance) FROM pgbench_accounts", compare: live}
///   cache:
///     target: {directory: /tmp/drill/cache, port: 16580}
///     checks: [{redis: keys}, {redis: digest, compare: live}]
/// objectives:
///   db: {rto: 5m, rpo: 24h}
/// ```
public struct DrillPlan: Sendable {
    /// `restore`: into scratch targets; `failover`: kill the primaries, recover on standbys;
    /// `ransomware`: attack the repository with the host's credentials, then restore as `restore`.
    public enum Kind: String, Sendable { case restore, failover, ransomware }

    public var file: String
    /// The plan as read (its report's audit block records it and its SHA-256).
    public var text = ""
    public var name: String
    public var policyPath: String
    public var kind: Kind
    public var at: String?
    public var sources: [Source]
    public var objectives: [String: Objectives]
    /// Failover: how often the heartbeat writer writes, and for how long before the kill.
    public var heartbeatInterval: TimeInterval = 0.1
    public var heartbeatRun: TimeInterval = 5

    /// Where one source is restored during the drill (created by the drill and removed after).
    public struct Target: Sendable {
        public var directory: String?
        public var port: Int?
        public var database: String?
        public var host: String?
        public var url: String?
        /// Shell commands that start and stop a scratch server on the restored directory (Chroma):
        /// `{directory}` and `{port}` are replaced.
        public var start: String?
        public var stop: String?
        /// A `command` source's restore and check programs for the scratch target (argv lists;
        /// `{directory}` and `{port}` are replaced), instead of the policy's, which point at
        /// production.
        public var restore: [String]?
        public var check: [String]?
    }

    public struct Source: Sendable {
        public var name: String
        public var target: Target
        public var checks: [DrillCheck]
        /// Failover: the live server the drill kills (it must be marked `sandbox: true`).
        public var primary: Primary?
    }

    /// A primary a failover drill kills with SIGKILL: PostgreSQL by its data directory's
    /// postmaster.pid, Redis by the process id it reports.
    public struct Primary: Sendable {
        public var datadir: String?
        public var sandbox = false
    }

    static let topKeys = ["drill", "policy", "kind", "at", "sources", "objectives", "heartbeat"]
    static let sourceKeys = ["target", "checks", "primary"]
    static let targetKeys = ["directory", "port", "database", "host", "url", "start", "stop", "restore", "check"]

    public static func load(path: String) throws -> DrillPlan {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw LifeboatError(.invalidInput, "cannot read drill plan \(path)", fix: "check the path given to --plan")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws -> DrillPlan {
        let root = try PolicyNode.parse(text, file: file)
        var plan = DrillPlan(
            file: file, name: ((file as NSString).lastPathComponent as NSString).deletingPathExtension,
            policyPath: "", kind: .restore, at: nil, sources: [], objectives: [:])
        plan.text = text
        var sawPolicy = false
        var sourcesNode: PolicyNode?
        for (key, value) in try root.mapping(allowed: topKeys) {
            switch key {
            case "drill":
                plan.name = try value.string()
                guard plan.name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                    throw value.error("drill name \"\(plan.name)\" may hold only letters, digits, - and _", fix: "it names the report files")
                }
            case "policy":
                plan.policyPath = PolicyLoader.resolve(try value.string(), relativeTo: file)
                sawPolicy = true
            case "kind":
                let text = try value.string()
                guard let kind = Kind(rawValue: text) else {
                    throw value.error("unknown kind \"\(text)\"", fix: "use restore, failover or ransomware")
                }
                plan.kind = kind
            case "at":
                let text = try value.string()
                guard text == "latest" || Timestamp.parse(text) != nil else {
                    throw value.error("\"\(text)\" is not a time", fix: "write an RFC 3339 time or latest")
                }
                plan.at = text
            case "sources": sourcesNode = value
            case "heartbeat":
                for (k, v) in try value.mapping(allowed: ["interval", "run"]) {
                    if k == "interval" {
                        let text = try v.string()
                        guard let ms = text.hasSuffix("ms") ? Double(text.dropLast(2)) : nil, ms >= 10 else {
                            throw v.error("interval \"\(text)\" is not a number of milliseconds ≥ 10", fix: "write e.g. 100ms")
                        }
                        plan.heartbeatInterval = ms / 1000
                    } else {
                        plan.heartbeatRun = try v.seconds()
                    }
                }
            case "objectives":
                for (source, node) in try value.mapping() {
                    var objectives = Objectives()
                    for (k, v) in try node.mapping(allowed: Objectives.keys) {
                        let seconds = try v.seconds()
                        if k == "rto" { objectives.rto = seconds } else { objectives.rpo = seconds }
                    }
                    plan.objectives[source] = objectives
                }
            default: break
            }
        }
        guard sawPolicy else { throw root.error("the plan names no `policy:`", fix: "add `policy: path/to/policy.yaml` (relative to the plan)") }
        guard let sourcesNode else { throw root.error("the plan has no `sources:`", fix: "add the sources to drill, each with a `target:`") }
        for (name, node) in try sourcesNode.mapping() {
            var source = Source(name: name, target: Target(), checks: [])
            for (key, value) in try node.mapping(allowed: sourceKeys) {
                switch key {
                case "target": source.target = try target(value)
                case "checks": source.checks = try value.sequence().map { try DrillCheck.parse($0) }
                case "primary":
                    var primary = Primary()
                    for (k, v) in try value.mapping(allowed: ["datadir", "sandbox"]) {
                        if k == "datadir" {
                            primary.datadir = PolicyLoader.resolve(try v.string(), relativeTo: file)
                        } else {
                            primary.sandbox = try v.bool()
                        }
                    }
                    guard primary.sandbox else {
                        throw value.error(
                            "a failover drill kills this primary, and it is not marked `sandbox: true`",
                            fix: "failover drills run only against sandbox servers; add `sandbox: true` if this one is")
                    }
                    source.primary = primary
                default: break
                }
            }
            let checksHeartbeats = source.checks.contains { if case .heartbeatsRecovered = $0 { true } else { false } }
            if checksHeartbeats && (plan.kind != .failover || source.primary == nil) {
                throw node.error(
                    "source \"\(name)\" checks `heartbeats: recovered`, but only a failover drill writes heartbeats, into the sources it kills",
                    fix: "use `kind: failover` with `primary:` on this source, or drop the check")
            }
            plan.sources.append(source)
        }
        guard !plan.sources.isEmpty else { throw sourcesNode.error("no sources to drill", fix: "add at least one source with a target") }
        if plan.kind == .failover && !plan.sources.contains(where: { $0.primary != nil }) {
            throw sourcesNode.error(
                "a failover drill needs at least one source with a `primary:` to kill",
                fix: "add `primary: {sandbox: true}` (PostgreSQL also `datadir:`) to the sources that fail")
        }
        return plan
    }

    private static func target(_ node: PolicyNode) throws -> Target {
        var target = Target()
        for (key, value) in try node.mapping(allowed: targetKeys) {
            switch key {
            case "directory": target.directory = PolicyLoader.resolve(try value.string(), relativeTo: node.file)
            case "port": target.port = try value.port()
            case "database": target.database = try value.string()
            case "host": target.host = try value.string()
            case "url": target.url = try value.string()
            case "start": target.start = try value.string()
            case "stop": target.stop = try value.string()
            case "restore": target.restore = try value.sequence().map { try $0.string() }
            case "check": target.check = try value.sequence().map { try $0.string() }
            default: break
            }
        }
        return target
    }
}
