import Foundation

/// What the manifests of a repository say, as `Repository.catalog()` finds them: the proved
/// snapshots, the damaged manifests (which every selector must face, never skip), and those
/// forgotten while the listing was read.
public struct SnapshotCatalog: Sendable {
    /// Proved manifests, oldest first.
    public var snapshots: [Manifest] = []
    /// Manifests that are listed but fail to load or to prove.
    public var damaged: [DamagedManifest] = []
    /// Ids listed, then gone before they could be read (a concurrent `forget`).
    public var vanished: [String] = []
    /// Set when `snapshots/` itself could not be listed.
    public var listingError: LifeboatError?

    public init(snapshots: [Manifest] = [], damaged: [DamagedManifest] = []) {
        self.snapshots = snapshots
        self.damaged = damaged
    }
}

/// A listed manifest that fails its checks. Its id comes from its key; what its bytes still
/// claim (name, time, sources) is read without proof, only to decide whether a selector could
/// have meant it.
public struct DamagedManifest: Sendable {
    public var id: String
    public var key: String
    public var error: LifeboatError
    public var claimedName: String?
    public var claimedStarted: Date?
    public var claimedRecoveryPoint: Date?
    public var claimedSources: [String]?

    public init(id: String, key: String, error: LifeboatError, bytes: [UInt8]?) {
        self.id = id
        self.key = key
        self.error = error
        struct Claims: Decodable {
            struct Component: Decodable { var source: String }
            var name: String?
            var started: String?
            var recovery_point: String?
            var components: [Component]?
        }
        if let bytes, let claims = try? JSONDecoder().decode(Claims.self, from: Data(bytes)) {
            claimedName = claims.name
            claimedStarted = claims.started.flatMap(Timestamp.parse)
            claimedRecoveryPoint = claims.recovery_point.flatMap(Timestamp.parse)
            claimedSources = claims.components?.map(\.source)
        }
    }

    /// Whether it may hold `source` (unknown when its bytes do not decode).
    func mayHold(_ source: String?) -> Bool {
        guard let source, let claimedSources else { return true }
        return claimedSources.contains(source)
    }

    /// How it is named in an error.
    var label: String {
        "\(id)" + (claimedName.map { " (\($0), unproved)" } ?? "")
    }
}
