import Foundation

extension Repository {
    /// Opens a component's stored stream for restore or deep verify: its stored file (format 1),
    /// or its chunks reassembled (format 2).
    public func open(_ component: Manifest.Component) throws -> (any ObjectReader)? {
        try open(component, store: nil)
    }

    /// `open`, reading format-2 chunks through `store` when given (a command that reads many
    /// components loads the index once).
    /// `provesChunks`: see `ChunkedStreamReader.init`.
    func open(_ component: Manifest.Component, store: ChunkStore?, provesChunks: Bool = true) throws -> (any ObjectReader)? {
        if let id = try component.chunkListId() {
            if let keys, !keys.canOpen { throw keys.missingKey("reading stored data") }
            return try ChunkedStreamReader(store: try store ?? ChunkStore(repository: self), list: id, provesChunks: provesChunks)
        }
        return try open(key: component.file)
    }

    /// A writer for a new stored file at `key` (encrypting in an encrypted repository).
    public func writer(_ key: String) throws -> any ObjectWriter {
        guard let keys else { return try storage.writer(key) }
        guard keys.canSeal else { throw keys.missingKey("writing") }
        return try SealingWriter(base: try storage.writer(key), keys: keys)
    }
}

extension Repository {
    /// Opens any stored object for reading (decrypted in an encrypted repository).
    public func open(key: String) throws -> (any ObjectReader)? {
        guard let keys else { return try storage.reader(key) }
        guard keys.canOpen else { throw keys.missingKey("reading stored data") }
        guard let base = try storage.reader(key) else { return nil }
        let reader = OpeningReader(base: base, keys: keys)
        do {
            try reader.start()
        } catch {
            reader.close()
            throw error
        }
        return reader
    }
}

/// Where this invocation's keys for an encrypted repository are: `--key-file` (symmetric) and
/// `--private-key` (public-key mode, for restore and deep verify).
public struct KeyFiles: Codable, Sendable, Equatable {
    public var keyFile: String?
    public var privateKey: String?
    public init(keyFile: String? = nil, privateKey: String? = nil) {
        self.keyFile = keyFile
        self.privateKey = privateKey
    }
}

/// How `init --encrypt` encrypts a new repository.
public enum EncryptionSetup: Sendable {
    case symmetric(keyFile: String)
    case publicKey(file: String)
}

extension Manifest {
    /// Component metadata that stays readable without a key: what retention and WAL expiry and
    /// plain verify need (PostgreSQL mode and WAL positions), nothing about the data itself.
    static let publicMetadataKeys: Set<String> = ["mode", "start_wal", "stop_wal", "wal_segment_size", "timeline"]

    /// The plaintext envelope of an encrypted repository's manifest: names, times, sources and
    /// stored sizes and hashes; no entries, no other metadata, no warnings.
    func envelope(sealed: String) -> Manifest {
        var envelope = self
        envelope.checksum = nil
        envelope.sealed = sealed
        for i in envelope.components.indices {
            envelope.components[i].entries = []
            envelope.components[i].metadata = envelope.components[i].metadata.filter { Self.publicMetadataKeys.contains($0.key) }
            envelope.components[i].warnings = []
        }
        return envelope
    }
}
