/// Carries out a `RestorePlan` through the component's adapter, reading the stored data only
/// through `ComponentReader`, so nothing the manifest does not vouch for is ever restored.
public struct Restorer {
    public let repository: Repository

    public init(repository: Repository) {
        self.repository = repository
    }

    public func run(plan: RestorePlan, manifest: Manifest, request: RestoreRequest) async throws -> RestoreOutcome {
        guard let component = manifest.component(plan.source), let adapter = SourceAdapters.named(component.type) else {
            throw LifeboatError(.invalidInput, "snapshot \(manifest.name) has no restorable source \"\(plan.source)\"")
        }
        let reader = try ComponentReader(repository: repository, snapshot: manifest, component: component)
        return try await adapter.restore(component, from: reader, request: request)
    }
}
