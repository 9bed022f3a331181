import Foundation

/// A kind of data store Lifeboat can capture and restore (`files`, later `postgres`, `redis`, …).
///
/// Contract, which every adapter must keep (and the shared conformance tests check):
/// - `configure` validates the policy's settings for one source and throws `.invalidInput`
///   pointing at the offending key; it performs no I/O against the store.
/// - `capture` writes the source's state into the archive and nothing else. It may be called
///   again after a failure: it must not leave the store changed (no locks held, no files
///   written into the source). Throwing abandons the snapshot; the repository is unchanged.
/// - `restore` is static: it needs only the manifest's component, the stored stream and a
///   typed target (`RestoreTarget`) of a kind it declares (`restoreTargets(for:)`), so an operator
///   can restore from a repository alone. The exception is a target run by the source's own
///   programs, which `RestoreOptions.configuredSource` carries from `--policy` (Chroma's stop
///   and start commands; a command source's restore program, else the manifest's). It writes
///   only inside its target, and refuses (`.invalidInput`) a target that is not empty unless
///   `options.force` is set. Content that does not match the manifest is `.integrity`.
/// - `contentCheck` returns a check that `verify --deep` feeds an entry's content through, for
///   format checks beyond the SHA-256 every entry gets anyway (nil: nothing more to check).
public protocol SourceAdapter: Sendable {
    /// The `type:` value in a policy.
    static var type: String { get }
    /// Keys this adapter accepts under a source, besides `type`.
    static var settingKeys: [String] { get }
    /// Builds the adapter for source `name` from its policy node.
    static func configure(name: String, settings: PolicyNode) throws -> Self

    /// The source's name in the policy.
    var name: String { get }
    /// Writes the source's current state into `writer`.
    func capture(into writer: ArchiveWriter, context: CaptureContext) async throws -> CaptureOutcome

    /// The kinds of target `component` restores to.
    static func restoreTargets(for component: Manifest.Component) -> [RestoreTarget.Kind]
    /// The target when the command line names none (nil: one must be named).
    static func defaultRestoreTarget(for component: Manifest.Component) -> RestoreTarget?
    /// Whether a restore can write some entries only (`--include`, `--exclude`).
    static var restoresSelectedEntries: Bool { get }
    /// Whether a restore can restore some tables only (`--table`, `--schema`).
    static var restoresSelectedTables: Bool { get }
    /// How messages name the source ("postgres source "db" (logical)").
    static func restoreDescription(for component: Manifest.Component) -> String
    /// What `restore --dry-run` checks before it says yes: throws the refusal the restore would
    /// give (a non-empty target without `force`, …); true when old content would be moved aside.
    static func preflight(_ component: Manifest.Component, to target: RestoreTarget, options: RestoreOptions) throws -> Bool
    /// What else `restore --dry-run` tells before the restore runs (roles it would create, …),
    /// reading what it needs from the snapshot through `reader`.
    static func dryRunNotes(
        _ component: Manifest.Component, from reader: @escaping () throws -> ComponentReader, to target: RestoreTarget,
        options: RestoreOptions
    ) throws -> [String]
    /// Restores `component` from `reader` into `target`.
    static func restore(
        _ component: Manifest.Component, from reader: ComponentReader,
        to target: RestoreTarget, options: RestoreOptions
    ) async throws -> RestoreOutcome
    /// A format check for one entry's content, or nil.
    static func contentCheck(for entry: EntryRecord, in component: Manifest.Component) -> (any EntryContentCheck)?
    /// A check that `verify --deep` feeds every entry of the component through, in order, for
    /// formats that span entries (a dump stored in parts), or nil.
    static func componentCheck(for component: Manifest.Component) -> (any ComponentContentCheck)?
}

extension SourceAdapter {
    public static func defaultRestoreTarget(for component: Manifest.Component) -> RestoreTarget? { nil }
    public static var restoresSelectedEntries: Bool { false }
    public static var restoresSelectedTables: Bool { false }
    public static func dryRunNotes(
        _ component: Manifest.Component, from reader: @escaping () throws -> ComponentReader, to target: RestoreTarget,
        options: RestoreOptions
    ) throws -> [String] { [] }

    /// A directory or data directory target restored through `FileTreeRestore`: refused when it
    /// is a file, or not empty without `force` (then moved aside); a partial restore's selected
    /// entries likewise. Other targets: nothing to check before the restore.
    public static func preflight(_ component: Manifest.Component, to target: RestoreTarget, options: RestoreOptions) throws -> Bool {
        try treePreflight(component, to: target, options: options)
    }

    /// The default `preflight`, for adapters that override it for other targets.
    static func treePreflight(_ component: Manifest.Component, to target: RestoreTarget, options: RestoreOptions) throws -> Bool {
        switch target {
        case .directory(let path), .dataDirectory(let path, _, _):
            let selected = try options.selection.flatMap { try $0.selected(in: component) }
            return try FileTreeRestore.preflight(target: FileIO.absolute(path), force: options.force, selected: selected, entries: component.entries)
        default:
            return false
        }
    }
    public static func restoreDescription(for component: Manifest.Component) -> String { "\(type) source \"\(component.source)\"" }
    public static func contentCheck(for entry: EntryRecord, in component: Manifest.Component) -> (any EntryContentCheck)? { nil }
    public static func componentCheck(for component: Manifest.Component) -> (any ComponentContentCheck)? { nil }
}

/// What a capture can use: the time it started, a place for progress, and a directory on the
/// repository's filesystem for spooling a stream whose length is unknown up front.
public struct CaptureContext: Sendable {
    public var started: Date
    public var progress: ProgressLine
    public var scratchDirectory: String
    /// The repository being written (a physical PostgreSQL capture looks for its WAL there).
    public var repository: Repository?
    public init(
        started: Date, progress: ProgressLine, scratchDirectory: String = NSTemporaryDirectory(),
        repository: Repository? = nil
    ) {
        self.started = started
        self.progress = progress
        self.scratchDirectory = scratchDirectory
        self.repository = repository
    }
}

/// What a capture reports back for the manifest.
public struct CaptureOutcome: Sendable {
    public var metadata: [String: JSONValue]
    public var warnings: [String]
    /// The moment the captured state reflects; the capture's start when nil.
    public var recoveryPoint: Date?
    public init(metadata: [String: JSONValue] = [:], warnings: [String] = [], recoveryPoint: Date? = nil) {
        self.metadata = metadata
        self.warnings = warnings
        self.recoveryPoint = recoveryPoint
    }
}

/// What a restore did.
public struct RestoreOutcome: Codable, Sendable {
    public var target: String
    public var entries: Int
    public var bytes: Int64
    /// Where the target's previous content was moved, when `force` replaced it.
    public var previousMovedTo: String?
    /// What the adapter checked after restoring (e.g. key counts), for people.
    public var checks: [String]
    /// The moment the restored state reflects, when the restore itself decided it (PITR).
    public var recoveryPoint: String?
    /// The steps the restore went through, timed (`restore`, `start`, `wal replay`), for drills.
    public var phases: [Phase] = []

    /// One timed step of a restore.
    public struct Phase: Codable, Sendable {
        public var name: String
        public var started: Date
        public var seconds: Double
        public init(name: String, started: Date, seconds: Double) {
            self.name = name
            self.started = started
            self.seconds = seconds
        }
    }

    /// Records a phase that began at `since` and ends now.
    public mutating func addPhase(_ name: String, since: Date) {
        phases.append(Phase(name: name, started: since, seconds: Date().timeIntervalSince(since)))
    }
    public init(target: String, entries: Int, bytes: Int64, previousMovedTo: String? = nil, checks: [String] = []) {
        self.target = target
        self.entries = entries
        self.bytes = bytes
        self.previousMovedTo = previousMovedTo
        self.checks = checks
    }
    enum CodingKeys: String, CodingKey {
        case target, entries, bytes, checks
        case previousMovedTo = "previous_moved_to"
        case recoveryPoint = "recovery_point"
        case phases
    }

    /// A phase as the JSON output shows it.
    private struct EncodedPhase: Encodable {
        var name: String
        var started: String
        var seconds: Double
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(target, forKey: .target)
        try c.encode(entries, forKey: .entries)
        try c.encode(bytes, forKey: .bytes)
        try c.encode(checks, forKey: .checks)
        try c.encode(previousMovedTo, forKey: .previousMovedTo)
        try c.encode(recoveryPoint, forKey: .recoveryPoint)
        try c.encode(
            phases.map {
                EncodedPhase(name: $0.name, started: Timestamp.rfc3339($0.started, fractional: true), seconds: ($0.seconds * 1000).rounded() / 1000)
            },
            forKey: .phases)
    }
}

/// A streaming format check of one entry's content (see `SourceAdapter.contentCheck`).
public protocol EntryContentCheck: AnyObject {
    func consume(_ bytes: UnsafeRawBufferPointer) throws
    /// Throws `.integrity` naming what is wrong.
    func finish() throws
    /// Anomalies found that do not make the content unusable (after `finish()`).
    var warnings: [String] { get }
}

extension EntryContentCheck {
    public var warnings: [String] { [] }
}

/// A streaming check over a whole component (see `SourceAdapter.componentCheck`).
public protocol ComponentContentCheck: AnyObject {
    /// `entry` starts (called for every entry, an empty one too, before its content).
    func begin(_ entry: EntryRecord) throws
    /// Content of `entry`, in stream order, possibly in several calls per entry.
    func consume(_ bytes: UnsafeRawBufferPointer, of entry: EntryRecord) throws
    /// Throws `.integrity` naming what is wrong.
    func finish() throws
}

extension ComponentContentCheck {
    public func begin(_ entry: EntryRecord) throws {}
}

/// The adapters this build knows, by policy `type`.
public enum SourceAdapters {
    public static let all: [any SourceAdapter.Type] = [
        FilesAdapter.self, RedisAdapter.self, PostgresAdapter.self, ChromaAdapter.self, QdrantAdapter.self, CommandAdapter.self,
    ]

    /// The adapter for a policy or manifest `type`, or nil.
    public static func named(_ type: String) -> (any SourceAdapter.Type)? {
        all.first { $0.type == type }
    }

    /// The adapter that restores `component`; a type this build does not know is exit 2.
    public static func restoring(_ component: Manifest.Component) throws -> any SourceAdapter.Type {
        guard let adapter = named(component.type) else {
            throw LifeboatError(
                .invalidInput, "component \(component.source) has type \"\(component.type)\", which this build cannot restore",
                fix: "use a Lifeboat release that knows \(component.type) sources")
        }
        return adapter
    }
}
