/// `verify --read-data-subset N/M`: the packs whose name, read as a number, is N-1 modulo M.
/// Running 1/M … M/M (one a night, say) reads every pack once; each run proves every chunk of
/// its packs that a verified snapshot needs (pack hash, blob, decompression, chunk id).
public struct DataSubset: Sendable, Equatable, Codable, CustomStringConvertible {
    public let part: Int
    public let parts: Int

    /// Parses `N/M` (1 ≤ N ≤ M ≤ 65,536); a clear error names what is wrong.
    public init(parsing text: String) throws {
        let pieces = text.split(separator: "/", omittingEmptySubsequences: false)
        guard pieces.count == 2, let part = Int(pieces[0]), let parts = Int(pieces[1]), parts >= 1, parts <= 65_536, part >= 1, part <= parts else {
            throw LifeboatError(
                .invalidInput, "--read-data-subset \(text) is not N/M with 1 ≤ N ≤ M ≤ 65536",
                fix: "for example --read-data-subset 1/7 reads a seventh of the packs; 2/7 the next seventh")
        }
        self.part = part
        self.parts = parts
    }

    /// Whether the pack named `name` (64 hex digits) is in this subset.
    func contains(pack name: String) -> Bool {
        let value = UInt64(name.prefix(8), radix: 16) ?? 0  // the first 32 bits of a SHA-256: uniform
        return Int(value % UInt64(parts)) == part - 1
    }

    public var description: String { "\(part)/\(parts)" }
}
