import Foundation

/// The way in for the commands PostgreSQL runs once per WAL segment, without ArgumentParser:
/// archive_command's `wal push` and restore_command's `wal fetch`, in their usual forms, are
/// read straight from argv. ArgumentParser builds every command's argument set by reflection on
/// the way to a subcommand, about 6 ms of a 16 ms archive_command here. Anything this does not
/// recognise exactly (another option, a repeated one, `-qv`, `--`, `--help`, a value that does
/// not parse, values that cannot run together) goes the usual way, so errors and help are
/// ArgumentParser's alone; `lifeboat debug parse` shows both readings, and a test holds them
/// equal.
enum HotEntry {
    /// A command read here.
    enum Command: Encodable {
        case push(WalPush)
        case fetch(WalFetch)

        func run() throws {
            switch self {
            case .push(let push): try push.run()
            case .fetch(let fetch): try fetch.run()
            }
        }
    }

    /// The command `arguments` (argv without the program) asks for, if read here.
    static func command(_ arguments: some Collection<String>) -> Command? {
        walPush(arguments).map(Command.push) ?? walFetch(arguments).map(Command.fetch)
    }

    static let globalFlags: Set = ["--json", "--quiet", "--verbose"]
    static let globalOptions: Set = ["--repo", "--key-file", "--private-key"]

    /// `wal push [options] PATH`.
    static func walPush(_ arguments: some Collection<String>) -> WalPush? {
        guard arguments.starts(with: ["wal", "push"]),
            let line = Line(
                arguments.dropFirst(2), flags: globalFlags.union(["--async", "--link"]),
                options: globalOptions.union(["--spool", "--spool-limit-mib", "--parallel", "--metrics-file"])),
            line.positionals.count == 1
        else { return nil }
        var push = WalPush(global: line.global, path: line.positionals[0])
        push.asynchronous = line.flags.contains("--async")
        push.link = line.flags.contains("--link")
        push.spool = line.values["--spool"]
        push.metricsFile = line.values["--metrics-file"]
        guard let parallel = line.integer("--parallel", else: push.parallel),
            let limit = line.integer("--spool-limit-mib", else: push.spoolLimitMiB)
        else { return nil }
        (push.parallel, push.spoolLimitMiB) = (parallel, limit)
        return push.invalidity == nil ? push : nil
    }

    /// `wal fetch [options] NAME DESTINATION`.
    static func walFetch(_ arguments: some Collection<String>) -> WalFetch? {
        guard arguments.starts(with: ["wal", "fetch"]),
            let line = Line(arguments.dropFirst(2), flags: globalFlags, options: globalOptions.union(["--prefetch"])),
            line.positionals.count == 2
        else { return nil }
        var fetch = WalFetch(global: line.global, name: line.positionals[0], destination: line.positionals[1])
        guard let prefetch = line.integer("--prefetch", else: fetch.prefetch) else { return nil }
        fetch.prefetch = prefetch
        return fetch.invalidity == nil ? fetch : nil
    }

    /// Tokens read against a closed set of flags and options (`--name value` or `--name=value`,
    /// `-q` and `-v` for their long names), each at most once, and positionals.
    struct Line {
        var flags: Set<String> = []
        var values: [String: String] = [:]
        var positionals: [String] = []

        init?(_ tokens: some Sequence<String>, flags known: Set<String>, options: Set<String>) {
            var rest = tokens.makeIterator()
            while let token = rest.next() {
                guard token.hasPrefix("-") else {
                    guard !token.isEmpty else { return nil }
                    positionals.append(token)
                    continue
                }
                var name = token
                var attached: String?
                if token.hasPrefix("--"), let equals = token.firstIndex(of: "=") {
                    name = String(token[..<equals])
                    attached = String(token[token.index(after: equals)...])
                }
                name = ["-q": "--quiet", "-v": "--verbose"][name] ?? name
                guard !flags.contains(name), values[name] == nil else { return nil }
                if known.contains(name), attached == nil {
                    flags.insert(name)
                } else if options.contains(name), let value = attached ?? rest.next(), !value.hasPrefix("-") {
                    values[name] = value
                } else {
                    return nil
                }
            }
        }

        var global: GlobalValues {
            GlobalValues(
                repo: values["--repo"], keyFile: values["--key-file"], privateKey: values["--private-key"], json: flags.contains("--json"),
                quiet: flags.contains("--quiet"), verbose: flags.contains("--verbose"))
        }

        /// The option's integer, `fallback` when it is absent, nil when it is not an integer.
        func integer(_ name: String, else fallback: Int) -> Int? {
            guard let text = values[name] else { return fallback }
            return Int(text)
        }
    }
}
