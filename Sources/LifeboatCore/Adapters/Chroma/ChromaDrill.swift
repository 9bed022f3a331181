import Foundation

/// A Chroma source in directory mode is drilled into a scratch persist directory served by a
/// scratch server the plan starts and stops (`target.directory`, `port`, `start`, `stop`); in
/// logical mode into a scratch server's API (`target.url`). Restores check counts and probes.
extension ChromaAdapter: DrillHook {
    func validateDrillTarget(_ scratch: ScratchTarget) throws {
        if mode == .directory { _ = try requireDirectory(scratch) }
    }

    func drillRestore(_ scratch: ScratchTarget, component: Manifest.Component, repository: Repository, at: String?) throws -> (
        RestoreTarget, RestoreOptions
    ) {
        let target = scratch.source.target
        guard mode == .directory else {
            guard let url = target.url else {
                throw LifeboatError(
                    .invalidInput, "drill source \"\(scratch.source.name)\" (chroma) needs target.url: the scratch server to restore into")
            }
            return (.apiServer(url: url), RestoreOptions())
        }
        guard let port = target.port, let start = target.start, let stop = target.stop else {
            throw LifeboatError(
                .invalidInput,
                "drill source \"\(scratch.source.name)\" (chroma) needs target.port, target.start and target.stop for its scratch server")
        }
        var server = ChromaAdapter(name: name)
        server.url = "http://127.0.0.1:\(port)"
        server.path = scratch.directory
        server.start = scratch.expand(start)
        server.stop = scratch.expand(stop)
        return (.persistDirectory(scratch.directory), RestoreOptions(configuredSource: server))
    }

    func tearDown(_ scratch: ScratchTarget) {
        if let stop = scratch.source.target.stop { _ = try? ChildProcess.run(["/bin/sh", "-c", scratch.expand(stop)], in: "/") }
    }
}
