import Foundation

/// The way in for the commands PostgreSQL runs once per WAL segment, without ArgumentParser:
/// archive_command's `wal push` in its usual forms is read straight from argv. ArgumentParser
/// builds every command's argument set by reflection on the way to `wal push`, about 6 ms of a
/// 16 ms archive_command here. Anything this does not recognise exactly (another option, a
/// repeated one, `-qv`, `--`, `--help`, a value that does not parse, values that cannot run
/// together) goes the usual way, so errors and help are ArgumentParser's alone; `lifeboat debug
/// parse` shows both readings, and a test holds them equal.
enum HotEntry {
    /// The `wal push` that `arguments` (argv without the program) asks for, if read here.
    static func walPush(_ arguments: some Collection<String>) -> WalPush? {
        guard arguments.count >= 3, arguments.starts(with: ["wal", "push"]) else { return nil }
        var global = GlobalValues()
        var push = WalPush(global: global, path: "")
        var path: String?
        var seen: Set<String> = []
        var rest = arguments.dropFirst(2).makeIterator()
        while let token = rest.next() {
            guard token.hasPrefix("-") else {
                guard path == nil, !token.isEmpty else { return nil }
                path = token
                continue
            }
            var name = token
            var attached: String?
            if token.hasPrefix("--"), let equals = token.firstIndex(of: "=") {
                name = String(token[..<equals])
                attached = String(token[token.index(after: equals)...])
            }
            name = ["-q": "--quiet", "-v": "--verbose"][name] ?? name
            guard seen.insert(name).inserted else { return nil }
            func value() -> String? {
                if let attached { return attached }
                guard let next = rest.next(), !next.hasPrefix("-") else { return nil }
                return next
            }
            switch name {
            case "--json", "--quiet", "--verbose", "--async", "--link":
                guard attached == nil else { return nil }
                switch name {
                case "--json": global.json = true
                case "--quiet": global.quiet = true
                case "--verbose": global.verbose = true
                case "--async": push.asynchronous = true
                default: push.link = true
                }
            case "--repo":
                guard let v = value() else { return nil }
                global.repo = v
            case "--key-file":
                guard let v = value() else { return nil }
                global.keyFile = v
            case "--private-key":
                guard let v = value() else { return nil }
                global.privateKey = v
            case "--spool":
                guard let v = value() else { return nil }
                push.spool = v
            case "--metrics-file":
                guard let v = value() else { return nil }
                push.metricsFile = v
            case "--parallel":
                guard let v = value().flatMap({ Int($0) }) else { return nil }
                push.parallel = v
            case "--spool-limit-mib":
                guard let v = value().flatMap({ Int($0) }) else { return nil }
                push.spoolLimitMiB = v
            default: return nil
            }
        }
        guard let path else { return nil }
        push.global = global
        push.path = path
        return push.invalidity == nil ? push : nil
    }
}
