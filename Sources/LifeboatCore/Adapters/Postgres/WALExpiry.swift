import Foundation

/// Which archived WAL retention may remove: segments (and backup history files) that lie before
/// the first segment of the oldest base backup any snapshot still holds. Timeline history files
/// are always kept, and with no base backup in the repository no WAL is removed at all.
/// (Temporaries of interrupted pushes are `GarbageScan`'s.)
struct WALExpiry {
    let repository: Repository

    /// The archived objects to remove, given every snapshot of the repository.
    func expired(snapshots: [Manifest]) throws -> [StoredObject] {
        let starts = snapshots.flatMap(\.components)
            .filter { $0.type == PostgresAdapter.type && PostgresMetadata($0).isPhysical }
            .compactMap { PostgresMetadata($0).startWAL.flatMap(WALArchive.position(of:)) }
        guard let oldest = starts.min() else { return [] }
        return try WALArchive(repository: repository).all().compactMap { file in
            guard let position = WALArchive.position(of: file.name), position < oldest else { return nil }
            return StoredObject(key: file.key, size: file.storedBytes)
        }
    }
}
