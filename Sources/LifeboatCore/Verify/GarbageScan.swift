import Foundation

/// Finds what interrupted runs leave behind: unfinished writes (temporary files, multipart
/// uploads) and stored data that no manifest references. Garbage is never corruption.
public struct GarbageScan {
    public let repository: Repository
    /// A WAL push takes no lock: its temporaries count as garbage only after this long.
    static let walPushGrace: TimeInterval = 3600

    public init(repository: Repository) {
        self.repository = repository
    }

    /// One piece of garbage.
    public struct Item: Sendable {
        public enum Kind: Sendable { case incompleteWrite, unreferencedData }
        public var name: String
        public var kind: Kind
        public var bytes: Int64
    }

    /// Unfinished writes that no running writer can own: all of them under the lock, except WAL
    /// pushes younger than `walPushGrace`.
    func incompleteWrites() -> [IncompleteWrite] {
        let cutoff = Date().addingTimeInterval(-Self.walPushGrace)
        return ((try? repository.storage.incompleteWrites()) ?? []).filter { write in
            !write.key.hasPrefix("wal/") || (write.started ?? .distantPast) < cutoff
        }
    }

    /// Everything, sorted by name.
    public func items() throws -> [Item] {
        var garbage = incompleteWrites().map { Item(name: $0.name, kind: .incompleteWrite, bytes: $0.bytes) }
        let referenced = try repository.snapshotIds()
        for id in try repository.storage.children("data/") where !referenced.contains(id) {
            let bytes = (try? repository.storage.list("data/\(id)/"))?.reduce(Int64(0)) { $0 + $1.size } ?? 0
            garbage.append(Item(name: "data/\(id)/", kind: .unreferencedData, bytes: bytes))
        }
        return garbage.sorted { $0.name < $1.name }
    }

    /// The names only (for `verify`).
    public func run() -> [String] {
        ((try? items()) ?? []).map(\.name)
    }
}
