import Testing

@testable import LifeboatCore

/// #13 item 12: 10,000 vanished files do not print 10,000 lines.
@Suite struct CaptureWarningTests {
    @Test func manyVanishedFilesAreOneLineWithACount() {
        let many = (0..<10_000).map { "logs/\($0).log" }
        let lines = FileTreeCapture.summarise(many, what: "vanished while the backup ran")
        #expect(lines.count == 1)
        #expect(lines[0].hasPrefix("10000 entries") && lines[0].contains("logs/0.log"))
        #expect(
            FileTreeCapture.summarise(["a", "b"], what: "vanished while the backup ran") == [
                "a vanished while the backup ran", "b vanished while the backup ran",
            ])
    }
}
