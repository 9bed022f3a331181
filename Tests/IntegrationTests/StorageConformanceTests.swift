import Foundation
import LifeboatCore
import LifeboatTestSupport
import Testing

/// One contract (`StorageConformance`), on a local directory and on a real S3 engine (Ceph
/// RGW): whole-or-nothing writes, create-only commits, listings of committed objects only,
/// streaming reads that reproduce the writer's digest, batch deletes, a lock that names its
/// holders, and races between writers and between lockers.
@Suite(.serialized) struct StorageConformanceTests {
    enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case disk, s3
        var testDescription: String { rawValue }
    }

    static let cases: [(Backend, StorageConformance.Check)] =
        Backend.allCases.flatMap { backend in StorageConformance.checks.map { (backend, $0) } }

    @Test(arguments: cases)
    func conformance(backend: Backend, check: StorageConformance.Check) throws {
        switch backend {
        case .disk:
            let root = NSTemporaryDirectory() + "lifeboat-conf-\(UUID().uuidString.prefix(8))"
            defer { try? FileManager.default.removeItem(atPath: root) }
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            try check.run(DiskStorage(root: root))
        case .s3:
            let location = RGWServer.shared.newRepository("conf")
            _ = try Repository.create(at: location, settings: RGWServer.shared.settings())
            try check.run(try RGWServer.shared.storage(location))
        }
    }
}
