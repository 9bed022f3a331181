import Foundation

/// Source type `files`: a directory tree of regular files, directories and symlinks, with modes,
/// mtimes (nanoseconds) and numeric owners. Special files (sockets, FIFOs, devices) are skipped
/// with a warning. Hard links are stored and restored as hard links (the inode's first name in
/// walk order holds the content); sparse files keep their holes.
///
/// Policy keys: `path` (required, the directory), `exclude` (glob patterns matched against the
/// relative path and against the base name, as `fnmatch` does).
public struct FilesAdapter: SourceAdapter {
    public static let type = "files"
    public static let settingKeys = ["path", "exclude"]

    public let name: String
    /// The directory captured.
    public let path: String
    public let exclude: [String]

    public init(name: String, path: String, exclude: [String] = []) {
        self.name = name
        self.path = path
        self.exclude = exclude
    }

    public static func configure(name: String, settings: PolicyNode) throws -> FilesAdapter {
        var path: String?
        var exclude: [String] = []
        for (key, value) in try settings.mapping() {
            switch key {
            case "path": path = PolicyLoader.resolve(try value.string(), relativeTo: settings.file)
            case "exclude": exclude = try value.sequence().map { try $0.string() }
            default: break
            }
        }
        guard let path else {
            throw settings.error("source \"\(name)\" of type files has no `path:`", fix: "add `path: /the/directory/to/back/up`")
        }
        return FilesAdapter(name: name, path: path, exclude: exclude)
    }

    public func capture(into writer: ArchiveWriter, context: CaptureContext) async throws -> CaptureOutcome {
        var walker = FileTreeCapture(root: path, exclude: exclude, writer: writer, source: name)
        try walker.run()
        return CaptureOutcome(
            metadata: [
                "path": .string(path),
                "files": .int(Int64(walker.files)),
                "directories": .int(Int64(walker.directories)),
                "symlinks": .int(Int64(walker.symlinks)),
                "hardlinks": .int(Int64(walker.hardlinks)),
            ], warnings: walker.warnings)
    }

    public static func restoreTargets(for component: Manifest.Component) -> [RestoreTarget.Kind] { [.directory] }
    public static var restoresSelectedEntries: Bool { true }

    public static func restore(
        _ component: Manifest.Component, from reader: ComponentReader,
        to target: RestoreTarget, options: RestoreOptions
    ) async throws -> RestoreOutcome {
        guard case .directory(let directory) = target else {
            throw LifeboatError(
                .invalidInput, "restoring files source \"\(component.source)\" needs a target directory",
                fix: "add --to DIR")
        }
        let selected = try options.selection.flatMap { try $0.selected(in: component) }
        return try FileTreeRestore(target: directory, force: options.force, progress: options.progress, selected: selected).run(reader: reader)
    }
}
