/// Carries out a `RestorePlan` through the component's adapter, reading the stored data only
/// through `ComponentReader`, so nothing the manifest does not vouch for is ever restored. A
/// target of a kind the adapter does not take is refused before anything is read.
public struct Restorer {
    public let repository: Repository

    public init(repository: Repository) {
        self.repository = repository
    }

    public func run(plan: RestorePlan, manifest: Manifest, to target: RestoreTarget, options: RestoreOptions) async throws -> RestoreOutcome {
        guard let component = manifest.component(plan.source) else {
            throw LifeboatError(.invalidInput, "snapshot \(manifest.name) has no source \"\(plan.source)\"")
        }
        let adapter = try SourceAdapters.restoring(component)
        guard adapter.restoreTargets(for: component).contains(target.kind) else {
            throw LifeboatError(
                .invalidInput, "\(adapter.restoreDescription(for: component)) cannot be restored to \(target.kind.flags)",
                fix: "it restores to one of: " + adapter.restoreTargets(for: component).map(\.flags).joined(separator: "; "))
        }
        let reader = try ComponentReader.forRestore(repository: repository, snapshot: manifest, component: component)
        return try await adapter.restore(component, from: reader, to: target, options: options)
    }
}
