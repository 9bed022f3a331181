import Testing

@testable import LifeboatCore

@Suite struct SafePathTests {
    @Test func normalPathsAreKept() throws {
        #expect(try SafePath("a/b/c").components == ["a", "b", "c"])
        #expect(try SafePath("./a//b/").components == ["a", "b"])
        #expect(try SafePath(".").isRoot)
        #expect(try SafePath("a/./b").under("/t") == "/t/a/b")
        #expect(try SafePath("..a/b..").components == ["..a", "b.."])
    }

    @Test(arguments: ["/etc/passwd", "../evil", "a/../../evil", "a/..", "..", "a\0b"])
    func escapingPathsAreRefused(path: String) {
        let error = #expect(throws: LifeboatError.self) { try SafePath(path) }
        #expect(error?.code == .integrity)
    }
}
