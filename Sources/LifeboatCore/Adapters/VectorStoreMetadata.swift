import Foundation

/// What a vector store component (Chroma, Qdrant) records, read in one place: how it was
/// captured, the server, where its files were, and the facts restores check (counts, probes).
struct VectorStoreMetadata {
    /// Chroma: `directory` or `logical`; Qdrant: `collections` or `full`.
    var mode: String?
    var url: String?
    /// Chroma directory mode: the persist directory captured.
    var path: String?
    /// Chroma: the tenant and database (defaults as Chroma's).
    var tenant: String
    var database: String
    var collections: [VectorCollectionFacts]

    init(_ component: Manifest.Component) {
        let m = component.metadata
        mode = m["mode"]?.stringValue
        url = m["url"]?.stringValue
        path = m["path"]?.stringValue
        tenant = m["tenant"]?.stringValue ?? "default_tenant"
        database = m["database"]?.stringValue ?? "default_database"
        collections = VectorCollectionFacts.from(m["collections"])
    }
}
