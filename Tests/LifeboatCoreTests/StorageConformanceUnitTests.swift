import Foundation
import LifeboatCore
import LifeboatTestSupport
import Testing

/// The storage contract (`StorageConformance`) on the in-memory storage and on a local
/// directory, in process; the integration tests run the same checks on Ceph RGW.
@Suite struct StorageConformanceUnitTests {
    @Test(arguments: StorageConformance.checks)
    func memory(check: StorageConformance.Check) throws {
        try check.run(MemoryStorage())
    }

    @Test(arguments: StorageConformance.checks)
    func disk(check: StorageConformance.Check) throws {
        let root = ScratchDirectory("conf")
        try check.run(DiskStorage(root: root.path))
    }
}
