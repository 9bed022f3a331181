import Foundation

/// Restores a Chroma persist directory (`--to-path`). The snapshot is first restored and proven
/// in a new directory beside the target; with the policy's stop/start commands (`--policy`) the
/// server is stopped, the directories are swapped by rename (the old one kept aside), the server
/// is started, and its heartbeat, collection counts and probe queries are checked. If it does
/// not come back, or comes back different, the old directory is swapped back and started.
struct ChromaDirectoryRestore {
    let component: Manifest.Component
    /// `--to-path` (nil: the policy's path, else the one captured).
    let path: String?
    let options: RestoreOptions
    let configured: ChromaAdapter?

    /// The persist directory: `--to-path`, else the policy's, else the one captured.
    var target: String? { (path ?? configured?.path ?? VectorStoreMetadata(component).path).map(FileIO.absolute) }

    /// Refuses, before anything is read, an occupied persist directory without `force`; true
    /// when its content would be moved aside.
    func preflight() throws -> Bool {
        guard let target else { return false }
        return try checkOccupied(target)
    }

    /// Whether `target` holds something, refused without `force`.
    private func checkOccupied(_ target: String) throws -> Bool {
        let occupied = ((try? FileManager.default.contentsOfDirectory(atPath: target)) ?? []).isEmpty == false
        if occupied && !options.force {
            throw LifeboatError(
                .invalidInput, "\(target) is not empty",
                fix: "add --force to replace it (the current directory is kept aside), or restore into a new --to-path")
        }
        return occupied
    }

    func run(reader: ComponentReader) throws -> RestoreOutcome {
        guard let target else {
            throw LifeboatError(.invalidInput, "restoring chroma source \"\(component.source)\" needs a target", fix: "add --to-path DIR")
        }
        _ = try checkOccupied(target)
        let recorded = VectorStoreMetadata(component)
        let control = configured?.serviceControl
        let url = configured?.url ?? recorded.url
        let tls = configured?.tls ?? TLSSettings(recordedIn: component.metadata)
        if control == nil, let url, ChromaAPI.isServing(url: url, tls: tls), FileIO.exists(target) {
            throw LifeboatError(
                .invalidInput, "a Chroma server answers at \(url) and no stop/start commands were given",
                fix: "add --policy F so that the source's stop and start commands quiesce the server, or stop it first")
        }
        let parent = (target as NSString).deletingLastPathComponent
        let staged = "\(parent)/.\((target as NSString).lastPathComponent).lifeboat-new-\(Hex.random(bytes: 4))"
        let began = Date()
        var outcome = try FileTreeRestore(target: staged, force: false, progress: options.progress).run(reader: reader)
        outcome.addPhase("restore", since: began)
        do {
            _ = try checkOccupied(target)  // again: it may have filled while the snapshot was read
        } catch {
            try? FileManager.default.removeItem(atPath: staged)
            throw error
        }
        guard let control, let url else {
            let aside = try swap(staged: staged, into: target)
            outcome.target = target
            outcome.previousMovedTo = aside
            outcome.checks.append("no stop/start commands (--policy): the server was not started; start it on \(target)")
            return outcome
        }
        let downtimeStart = Date()
        try control.stopService()
        let aside = try swap(staged: staged, into: target)
        do {
            try control.startService()
            defer { outcome.addPhase("start", since: downtimeStart) }  // until it serves as captured
            let api = try ChromaAPI(url: url, tenant: recorded.tenant, database: recorded.database, tls: tls)
            outcome.checks += try api.check(recorded.collections)
        } catch {
            // Put the previous directory back and serve it again.
            _ = try? control.stopService()
            if let aside {
                try? FileManager.default.removeItem(atPath: target)
                try? FileIO.rename(aside, target)
            }
            _ = try? control.startService()
            throw LifeboatError(
                .operationFailed,
                "the restored Chroma directory did not serve as captured, so the previous one is back in place: \((error as? LifeboatError)?.message ?? "\(error)")"
            )
        }
        outcome.target = target
        outcome.previousMovedTo = aside
        outcome.checks.insert(
            "server stopped, directory swapped, server serving again after \(String(format: "%.1f", Date().timeIntervalSince(downtimeStart))) s",
            at: 0)
        return outcome
    }

    /// Renames `target` aside (when it exists) and `staged` into its place; returns where the old one went.
    private func swap(staged: String, into target: String) throws -> String? {
        var aside: String?
        if FileIO.exists(target) {
            aside = FileIO.asideName(for: target)
            try FileIO.rename(target, aside!)
        }
        try FileIO.rename(staged, target)
        try FileIO.syncDirectory((target as NSString).deletingLastPathComponent)
        return aside
    }

}
