import Foundation

/// A command source is drilled with the plan's own programs, never the policy's (which point at
/// production): `target.restore` fed the stream and `target.check` after it (`{directory}` and
/// `{port}` replaced), or without them the stream written to `target.directory/stdout`.
extension CommandAdapter: DrillHook {
    func validateDrillTarget(_ scratch: ScratchTarget) throws {
        if scratch.source.target.restore == nil && scratch.directory == nil {
            throw LifeboatError(
                .invalidInput,
                "drill source \"\(scratch.source.name)\" (command) needs target.restore (a program fed the stream, e.g. into a scratch server) or target.directory",
                fix:
                    "add e.g. target: {restore: [\"sh\", \"-c\", \"cat > {directory}/dump.rdb\"], check: [\"test\", \"-s\", \"{directory}/dump.rdb\"], directory: /srv/drill/x}"
            )
        }
    }

    func drillRestore(_ scratch: ScratchTarget, component: Manifest.Component, repository: Repository, at: String?) throws -> (
        RestoreTarget, RestoreOptions
    ) {
        guard let restore = scratch.source.target.restore else { return (.directory(try requireDirectory(scratch)), RestoreOptions()) }
        if let directory = scratch.directory { try FileIO.makeDirectory(directory, mode: 0o700) }
        var programs = self
        programs.shell = false  // the plan's programs are argv lists
        programs.restore = restore.map(scratch.expand)
        programs.check = scratch.source.target.check?.map(scratch.expand)
        return (.program, RestoreOptions(configuredSource: programs))
    }

    func tearDown(_ scratch: ScratchTarget) {
        if let stop = scratch.source.target.stop { _ = try? ChildProcess.run(["/bin/sh", "-c", scratch.expand(stop)], in: "/") }
    }
}
