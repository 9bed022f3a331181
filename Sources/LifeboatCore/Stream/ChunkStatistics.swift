import Foundation

/// How FastCDC cuts a file: chunk count, sizes and the chunker's own throughput (the file is read
/// into memory first, so only chunking is timed). Behind `lifeboat debug chunk` and
/// scripts/bench/bench-chunker.sh.
public struct ChunkStatistics: Codable, Sendable {
    public var bytes: Int64
    public var chunks: Int
    public var smallest: Int
    public var largest: Int
    public var average: Double
    public var seconds: Double
    public var bytesPerSecond: Double

    public static func measure(path: String, parameters: FastCDC.Parameters = .standard) throws -> ChunkStatistics {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LifeboatError(.invalidInput, "cannot read \(path)", fix: "give a readable file")
        }
        var chunker = FastCDC(parameters)
        var sizes: [Int] = []
        let started = DispatchTime.now().uptimeNanoseconds
        data.withUnsafeBytes { chunker.push($0) { sizes.append($0.count) } }
        chunker.finish { sizes.append($0.count) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return ChunkStatistics(
            bytes: Int64(data.count), chunks: sizes.count, smallest: sizes.min() ?? 0, largest: sizes.max() ?? 0,
            average: sizes.isEmpty ? 0 : Double(data.count) / Double(sizes.count),
            seconds: seconds, bytesPerSecond: Double(data.count) / max(seconds, 1e-9))
    }

    enum CodingKeys: String, CodingKey {
        case bytes, chunks, smallest, largest, average, seconds
        case bytesPerSecond = "bytes_per_second"
    }
}
