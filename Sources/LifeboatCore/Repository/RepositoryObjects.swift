import Foundation

extension Repository {
    /// Opens a component's stored file for restore or deep verify.
    public func open(_ component: Manifest.Component) throws -> (any ObjectReader)? {
        try open(key: component.file)
    }

    /// A writer for a new stored file at `key`.
    public func writer(_ key: String) throws -> any ObjectWriter {
        try storage.writer(key)
    }
}

extension Repository {
    /// Opens any stored object for reading (decrypted in an encrypted repository).
    public func open(key: String) throws -> (any ObjectReader)? {
        try storage.reader(key)
    }
}
