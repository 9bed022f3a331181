import Foundation

/// Reads a policy file and validates it completely, or throws one `.invalidInput` error with
/// `file:line:column`, what is wrong and how to fix it.
public enum PolicyLoader {
    static let topKeys = ["repository", "compression", "sources", "schedules"]
    static let scheduleKeys = ["cron", "sources", "compression"]
    static let cronMacros = ["@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually"]

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
        var policy = Policy(file: file, repository: nil, compression: .default, sources: [], schedules: [])
        var sourcesNode: PolicyNode?
        var schedulesNode: PolicyNode?
        for (key, value) in try root.mapping(allowed: topKeys) {
            switch key {
            case "repository": policy.repository = resolve(try value.string(), relativeTo: file)
            case "compression": policy.compression = try compression(value)
            case "sources": sourcesNode = value
            case "schedules": schedulesNode = value
            default: break
            }
        }
        guard let sourcesNode else {
            throw root.error("the policy has no `sources:`", fix: "add `sources:` with at least one source, e.g. `cfg: {type: files, path: /etc/app}`")
        }
        policy.sources = try sources(sourcesNode)
        if let schedulesNode {
            policy.schedules = try schedules(schedulesNode, sourceNames: policy.sources.map(\.name))
        }
        return policy
    }

    private static func sources(_ node: PolicyNode) throws -> [any SourceAdapter] {
        let entries = try node.mapping()
        guard !entries.isEmpty else { throw node.error("no sources are defined", fix: "add at least one source") }
        let types = SourceAdapters.all.map { $0.type }
        return try entries.map { name, settings in
            try validateName(name, at: settings, what: "source")
            let fields = try settings.mapping()
            guard let typeNode = fields.first(where: { $0.key == "type" })?.value else {
                throw settings.error("source \"\(name)\" has no `type:`", fix: "add `type:` with one of: \(types.joined(separator: ", "))")
            }
            let type = try typeNode.string()
            guard let adapter = SourceAdapters.named(type) else {
                let suggestion = Spelling.closest(to: type, among: types).map { "did you mean \"\($0)\"? " } ?? ""
                throw typeNode.error("unknown source type \"\(type)\"", fix: "\(suggestion)known types: \(types.joined(separator: ", "))")
            }
            _ = try settings.mapping(allowed: ["type"] + adapter.settingKeys)
            return try adapter.configure(name: name, settings: settings)
        }
    }

    private static func schedules(_ node: PolicyNode, sourceNames: [String]) throws -> [Policy.Schedule] {
        try node.mapping().map { name, body in
            try validateName(name, at: body, what: "schedule")
            var schedule = Policy.Schedule(name: name, cron: "", sources: [], compression: nil)
            var sawCron = false
            for (key, value) in try body.mapping(allowed: scheduleKeys) {
                switch key {
                case "cron":
                    schedule.cron = try cron(value)
                    sawCron = true
                case "sources":
                    schedule.sources = try value.sequence().map { item in
                        let source = try item.string()
                        guard sourceNames.contains(source) else {
                            let suggestion = Spelling.closest(to: source, among: sourceNames).map { "did you mean \"\($0)\"? " } ?? ""
                            throw item.error("schedule \"\(name)\" names unknown source \"\(source)\"",
                                             fix: "\(suggestion)sources defined: \(sourceNames.joined(separator: ", "))")
                        }
                        return source
                    }
                case "compression": schedule.compression = try compression(value)
                default: break
                }
            }
            guard sawCron else { throw body.error("schedule \"\(name)\" has no `cron:`", fix: "add e.g. `cron: \"0 2 * * *\"` (daily at 02:00)") }
            return schedule
        }
    }

    private static func cron(_ node: PolicyNode) throws -> String {
        let text = try node.string().trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("@") {
            guard cronMacros.contains(text) else {
                throw node.error("unknown cron macro \"\(text)\"", fix: "use one of \(cronMacros.joined(separator: ", ")) or 5 fields")
            }
            return text
        }
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count == 5 else {
            throw node.error("cron expression \"\(text)\" has \(fields.count) fields; it needs 5",
                             fix: "write minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\"")
        }
        return text
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
            throw node.error("\(what) name \"\(name)\" may contain only letters, digits, '-' and '_'",
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
