import ArgumentParser
import Foundation
import LifeboatCore

/// Flags every command takes (docs/cli.md).
struct GlobalOptions: ParsableArguments, GlobalChoices {
    @Option(name: .long, help: "Repository path (default: $LIFEBOAT_REPO, then the policy's `repository:`).")
    var repo: String?

    @Option(
        name: .long, help: "Key file of an encrypted repository (32 bytes, mode 0600; default: $LIFEBOAT_KEY_FILE, then the policy's `key_file:`).")
    var keyFile: String?

    @Option(
        name: .long,
        help:
            "X25519 private key (NAME.key from `lifeboat keygen`) of a public-key repository, for restore and deep verify (default: $LIFEBOAT_PRIVATE_KEY)."
    )
    var privateKey: String?

    @Flag(name: .long, help: "Print one JSON document on stdout instead of text.")
    var json = false

    @Flag(name: .shortAndLong, help: "Print only errors.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Print more detail.")
    var verbose = false

}

/// What the global flags chose, and what follows from it: served by `GlobalOptions` (parsed by
/// ArgumentParser) and by `GlobalValues` (the per-segment commands' direct entry, `HotEntry`).
protocol GlobalChoices {
    var repo: String? { get }
    var keyFile: String? { get }
    var privateKey: String? { get }
    var json: Bool { get }
    var quiet: Bool { get }
    var verbose: Bool { get }
}

/// The global flags as plain values.
struct GlobalValues: GlobalChoices, Equatable, Encodable {
    var repo: String?
    var keyFile: String?
    var privateKey: String?
    var json = false
    var quiet = false
    var verbose = false
}

extension GlobalOptions {
    /// The same choices as plain values.
    var values: GlobalValues {
        GlobalValues(repo: repo, keyFile: keyFile, privateKey: privateKey, json: json, quiet: quiet, verbose: verbose)
    }
}

extension GlobalChoices {
    /// Progress on stderr, only on a terminal and never with --json or --quiet.
    var progress: ProgressLine { ProgressLine(enabled: !json && !quiet && isatty(2) == 1) }

    /// The repository path from --repo, $LIFEBOAT_REPO or the policy, in that order.
    func repositoryPath(policy: Policy? = nil) throws -> String {
        if let repo { return repo }
        if let env = ProcessInfo.processInfo.environment["LIFEBOAT_REPO"], !env.isEmpty { return env }
        if let path = policy?.repository { return path }
        throw LifeboatError(
            .invalidInput, "no repository given",
            fix: policy == nil
                ? "pass --repo PATH (or s3://BUCKET/PREFIX), or set LIFEBOAT_REPO"
                : "pass --repo PATH, set LIFEBOAT_REPO, or add `repository:` to the policy")
    }

    /// The S3 settings of the policy (`s3:`), if any; the environment fills in the rest.
    func storageSettings(policy: Policy? = nil) -> StorageSettings {
        policy?.storage ?? StorageSettings()
    }

    /// The key files from the flags, the environment, then the policy.
    func keyFiles(policy: Policy? = nil) -> KeyFiles {
        let env = ProcessInfo.processInfo.environment
        return KeyFiles(
            keyFile: keyFile ?? env["LIFEBOAT_KEY_FILE"].flatMap { $0.isEmpty ? nil : $0 } ?? policy?.keyFile,
            privateKey: privateKey ?? env["LIFEBOAT_PRIVATE_KEY"].flatMap { $0.isEmpty ? nil : $0 })
    }

    /// `--repo` and the key files as absolute paths, for a detached helper (`wal prefetch`,
    /// `wal pusher`) that opens the same repository; key files are named, never their content.
    func repositoryArguments() throws -> [String] {
        let keys = keyFiles()
        var argv = ["--repo", try repositoryPath()]
        if let file = keys.keyFile { argv += ["--key-file", FileIO.absolute(file)] }
        if let file = keys.privateKey { argv += ["--private-key", FileIO.absolute(file)] }
        return argv
    }

    /// A warning on stderr, unless --quiet.
    func warn(_ text: String) {
        if !quiet { Console.note("lifeboat: warning: \(text)") }
    }

    /// Opens the repository this invocation names.
    func openRepository(policy: Policy? = nil) throws -> Repository {
        try Repository(
            opening: try repositoryPath(policy: policy), settings: storageSettings(policy: policy),
            keyFiles: keyFiles(policy: policy))
    }
}
