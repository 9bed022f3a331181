import Foundation

/// A Qdrant source is drilled into a scratch server's API (`target.url`); restores check counts
/// and probes.
extension QdrantAdapter: DrillHook {
    func drillRestore(_ scratch: ScratchTarget, component: Manifest.Component, repository: Repository, at: String?) throws -> (
        RestoreTarget, RestoreOptions
    ) {
        guard let url = scratch.source.target.url else {
            throw LifeboatError(
                .invalidInput, "drill source \"\(scratch.source.name)\" (qdrant) needs target.url: the scratch server to restore into")
        }
        return (.apiServer(url: url), RestoreOptions())
    }
}
