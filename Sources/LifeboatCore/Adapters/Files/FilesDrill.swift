import Foundation

/// A files source is drilled into a scratch directory (`target.directory`); `files: entries`
/// is checked by every drill.
extension FilesAdapter: DrillHook {
    func validateDrillTarget(_ scratch: ScratchTarget) throws { _ = try requireDirectory(scratch) }

    func drillRestore(_ scratch: ScratchTarget, component: Manifest.Component, repository: Repository, at: String?) throws -> (
        RestoreTarget, RestoreOptions
    ) {
        (.directory(try requireDirectory(scratch)), RestoreOptions())
    }
}
