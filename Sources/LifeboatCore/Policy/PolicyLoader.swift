import Foundation

/// Reads a policy file and validates it completely, or throws one `.invalidInput` error with
/// `file:line:column`, what is wrong and how to fix it.
public enum PolicyLoader {
    static let topKeys = ["repository", "timezone", "compression", "sources", "schedules", "notify", "s3", "key_file"]
    static let s3Keys = ["endpoint", "region", "credentials_file", "path_style", "part_size_mib", "uploads_in_flight"] + TLSKeys.names
    static let scheduleKeys = ["cron", "sources", "compression", "retention"]
    static let commonSourceKeys = ["type", "objectives"]

    /// Loads the policy at `path`.
    public static func load(path: String) throws -> Policy {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LifeboatError(.invalidInput, "cannot read policy file \(path)", fix: "check the path given to --policy")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw LifeboatError(.invalidInput, "\(path) is not UTF-8 text")
        }
        return try parse(text, file: path)
    }

    /// Parses policy text; `file` names it in errors and anchors a relative `repository:`.
    public static func parse(_ text: String, file: String) throws -> Policy {
        let root = try PolicyNode.parse(text, file: file)
        var policy = Policy(
            file: file, repository: nil, compression: .default, timeZone: TimeZone(identifier: "UTC")!,
            objectives: [:], notifyWebhook: nil, sources: [], schedules: [])
        var sourcesNode: PolicyNode?
        var schedulesNode: PolicyNode?
        for (key, value) in try root.mapping(allowed: topKeys) {
            switch key {
            case "repository":
                let location = try value.string()
                policy.repository = location.hasPrefix("s3://") ? location : resolve(location, relativeTo: file)
            case "s3": policy.storage = try s3(value, file: file)
            case "key_file": policy.keyFile = resolve(try value.string(), relativeTo: file)
            case "compression": policy.compression = try compression(value)
            case "timezone": policy.timeZone = try timeZone(value)
            case "notify": policy.notifyWebhook = try notify(value)
            case "sources": sourcesNode = value
            case "schedules": schedulesNode = value
            default: break
            }
        }
        guard let sourcesNode else {
            throw root.error(
                "the policy has no `sources:`", fix: "add `sources:` with at least one source, e.g. `cfg: {type: files, path: /etc/app}`")
        }
        (policy.sources, policy.objectives) = try sources(sourcesNode)
        if let schedulesNode {
            policy.schedules = try schedules(schedulesNode, sourceNames: policy.sources.map(\.name))
        }
        return policy
    }

    private static func sources(_ node: PolicyNode) throws -> ([any SourceAdapter], [String: Objectives]) {
        let entries = try node.mapping()
        guard !entries.isEmpty else { throw node.error("no sources are defined", fix: "add at least one source") }
        let types = SourceAdapters.all.map { $0.type }
        var objectives: [String: Objectives] = [:]
        let adapters: [any SourceAdapter] = try entries.map { name, settings in
            try validateName(name, at: settings, what: "source")
            let fields = try settings.mapping()
            guard let typeNode = fields.first(where: { $0.key == "type" })?.value else {
                throw settings.error("source \"\(name)\" has no `type:`", fix: "add `type:` with one of: \(types.joined(separator: ", "))")
            }
            let type = try typeNode.string()
            guard let adapter = SourceAdapters.named(type) else {
                let suggestion = Spelling.suggestion(for: type, among: types)
                throw typeNode.error("unknown source type \"\(type)\"", fix: "\(suggestion)known types: \(types.joined(separator: ", "))")
            }
            for (key, value) in try settings.mapping(allowed: commonSourceKeys + adapter.settingKeys) where key == "objectives" {
                objectives[name] = try Self.objectives(value)
            }
            return try adapter.configure(name: name, settings: settings)
        }
        return (adapters, objectives)
    }

    private static func objectives(_ node: PolicyNode) throws -> Objectives {
        var result = Objectives()
        for (key, value) in try node.mapping(allowed: Objectives.keys) {
            let text = try value.string()
            guard let seconds = Objectives.seconds(parsing: text), seconds > 0 else {
                throw value.error("invalid duration \"\(text)\"", fix: "write e.g. 15m, 1h, 1h30m, 2d (units s, m, h, d)")
            }
            if key == "rpo" { result.rpo = seconds } else { result.rto = seconds }
        }
        return result
    }

    private static func retention(_ node: PolicyNode) throws -> RetentionRules {
        var rules = RetentionRules()
        for (key, value) in try node.mapping(allowed: RetentionRules.keys) {
            if key == "keep-tag" {
                let items = (try? value.sequence()) ?? [value]
                for item in items {
                    do {
                        rules.tags.append(try SnapshotName.validated(tag: try item.string()))
                    } catch let error as LifeboatError where error.location == nil {
                        throw item.error(error.message, fix: error.fix)
                    }
                }
                continue
            }
            if key == "keep-within" {
                let text = try value.string()
                do {
                    rules.within = try RetentionDuration(parsing: text)
                } catch let error as LifeboatError {
                    throw value.error(error.message, fix: error.fix)
                }
                continue
            }
            let count = try value.integer()
            guard count >= 0 else { throw value.error("\(key) is \(count); counts cannot be negative", fix: "use 0 (rule off) or a positive count") }
            guard count <= RetentionRules.maxCount else {
                throw value.error(
                    "\(key) is \(count); the largest count accepted is \(RetentionRules.maxCount)",
                    fix: "use a smaller count, or keep-within for long spans")
            }
            switch key {
            case "keep-last": rules.last = count
            case "keep-hourly": rules.hourly = count
            case "keep-daily": rules.daily = count
            case "keep-weekly": rules.weekly = count
            case "keep-monthly": rules.monthly = count
            default: rules.yearly = count
            }
        }
        guard !rules.isEmpty else {
            throw node.error("retention has no rule; it would keep everything", fix: "add e.g. `keep-daily: 7`, or remove `retention:`")
        }
        return rules
    }

    private static func timeZone(_ node: PolicyNode) throws -> TimeZone {
        let name = try node.string()
        guard let zone = TimeZone(identifier: name) else {
            throw node.error("unknown time zone \"\(name)\"", fix: "use an IANA name such as UTC, Europe/Berlin or America/New_York")
        }
        return zone
    }

    private static func s3(_ node: PolicyNode, file: String) throws -> StorageSettings {
        var settings = StorageSettings()
        var tls = TLSSettings()
        for (key, value) in try node.mapping(allowed: s3Keys) {
            if try TLSKeys.apply(key, value, to: &tls, file: file) { continue }
            switch key {
            case "endpoint":
                let url = try value.string()
                guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                    throw value.error("endpoint \"\(url)\" is not an http(s) URL", fix: "write e.g. http://127.0.0.1:7480")
                }
                settings.endpoint = url
            case "region": settings.region = try value.string()
            case "credentials_file": settings.credentialsFile = resolve(try value.string(), relativeTo: file)
            case "path_style": settings.pathStyle = try value.bool()
            case "part_size_mib":
                let mib = try value.integer()
                guard (5...512).contains(mib) else { throw value.error("part_size_mib must be 5 to 512 (S3 parts are at least 5 MiB)") }
                settings.partSize = mib << 20
            case "uploads_in_flight":
                let n = try value.integer()
                guard (1...16).contains(n) else { throw value.error("uploads_in_flight must be 1 to 16") }
                settings.uploadsInFlight = n
            default: break
            }
        }
        try TLSKeys.check(tls, in: node)
        if tls.isCustomized {
            if let endpoint = settings.endpoint, !endpoint.lowercased().hasPrefix("https://") {
                throw node.error(
                    "TLS keys (ca_file, cert_file, key_file, insecure_skip_verify) are given for the plain endpoint \(endpoint)",
                    fix: "write the endpoint as https://…, or drop the TLS keys")
            }
            settings.tls = tls
        }
        return settings
    }

    private static func notify(_ node: PolicyNode) throws -> String {
        var webhook: String?
        for (_, value) in try node.mapping(allowed: ["webhook"]) {
            let url = try value.string()
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                throw value.error("webhook \"\(url)\" is not an http(s) URL", fix: "write e.g. https://hooks.slack.com/services/…")
            }
            webhook = url
        }
        guard let webhook else { throw node.error("notify has no `webhook:`", fix: "add `webhook: https://…`") }
        return webhook
    }

    private static func schedules(_ node: PolicyNode, sourceNames: [String]) throws -> [Policy.Schedule] {
        try node.mapping().map { name, body in
            try validateName(name, at: body, what: "schedule")
            var cronSchedule: CronSchedule?
            var schedule = (sources: [String](), compression: Compression?.none, retention: RetentionRules?.none)
            for (key, value) in try body.mapping(allowed: scheduleKeys) {
                switch key {
                case "cron":
                    cronSchedule = try cron(value)
                case "sources":
                    schedule.sources = try value.sequence().map { item in
                        let source = try item.string()
                        guard sourceNames.contains(source) else {
                            let suggestion = Spelling.suggestion(for: source, among: sourceNames)
                            throw item.error(
                                "schedule \"\(name)\" names unknown source \"\(source)\"",
                                fix: "\(suggestion)sources defined: \(sourceNames.joined(separator: ", "))")
                        }
                        return source
                    }
                case "compression": schedule.compression = try compression(value)
                case "retention": schedule.retention = try retention(value)
                default: break
                }
            }
            guard let cronSchedule else {
                throw body.error("schedule \"\(name)\" has no `cron:`", fix: "add e.g. `cron: \"0 2 * * *\"` (daily at 02:00)")
            }
            return Policy.Schedule(
                name: name, cron: cronSchedule, sources: schedule.sources, compression: schedule.compression,
                retention: schedule.retention)
        }
    }

    private static func cron(_ node: PolicyNode) throws -> CronSchedule {
        let text = try node.string()
        do {
            let schedule = try CronSchedule(parsing: text)
            guard schedule.canFire else {
                throw node.error(
                    "cron \"\(text)\" never fires: no date matches its day-of-month, month and day-of-week",
                    fix: "check the day and month fields (e.g. February has no 30th or 31st)")
            }
            return schedule
        } catch let error as CronSchedule.ParseError {
            var location = node.location
            let quoted: Bool
            if case .scalar(let scalar) = node.node {
                quoted = scalar.style == .doubleQuoted || scalar.style == .singleQuoted
            } else {
                quoted = false
            }
            location.column += error.offset + (quoted ? 1 : 0)
            let subject = node.keyPath.isEmpty ? "" : "\(node.keyPath): "
            throw LifeboatError(.invalidInput, subject + error.message, fix: error.fix, location: location)
        }
    }

    private static func compression(_ node: PolicyNode) throws -> Compression {
        let text = try node.string()
        guard let value = Compression(parsing: text) else {
            throw node.error("unknown compression \"\(text)\"", fix: "use zstd, zstd:LEVEL (-7…22), gzip, gzip:LEVEL (1…9) or none")
        }
        return value
    }

    private static func validateName(_ name: String, at node: PolicyNode, what: String) throws {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
        guard !name.isEmpty, name.unicodeScalars.allSatisfy(allowed.contains), !name.hasPrefix("-") else {
            throw node.error(
                "\(what) name \"\(name)\" may contain only letters, digits, '-' and '_'",
                fix: "rename it, e.g. \"\(name.filter { $0.isLetter || $0.isNumber })\"")
        }
    }

    static func resolve(_ path: String, relativeTo file: String) -> String {
        if path.hasPrefix("/") { return path }
        if path.hasPrefix("~/") { return NSString(string: path).expandingTildeInPath }
        let base = (file as NSString).deletingLastPathComponent
        let dir = base.isEmpty ? FileManager.default.currentDirectoryPath : base
        return ((dir.hasPrefix("/") ? dir : FileManager.default.currentDirectoryPath + "/" + dir) + "/" + path as NSString).standardizingPath
    }
}
