import Foundation

/// What a snapshot records of one vector collection (Chroma, Qdrant): its size and shape, and
/// a few probe queries with the ids of their nearest neighbours at capture time. After a restore
/// (and in drills) the counts must be equal and the probes must return the same ids.
public struct VectorCollectionFacts: Codable, Sendable, Equatable {
    public var name: String
    public var count: Int64
    public var dimension: Int?
    /// `cosine`, `l2`, `ip` (Chroma) or `Cosine`, `Euclid`, `Dot`, `Manhattan` (Qdrant).
    public var metric: String?
    public var probes: [Probe]

    public struct Probe: Codable, Sendable, Equatable {
        public var vector: [Double]
        /// Nearest-neighbour ids, nearest first.
        public var ids: [String]
    }

    /// How many probes per collection and neighbours per probe.
    public static let probesPerCollection = 3
    public static let neighbours = 5

    /// As manifest metadata.
    public static func metadata(_ facts: [VectorCollectionFacts]) -> JSONValue {
        guard let data = try? JSONEncoder().encode(facts), let value = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            return .array([])
        }
        return value
    }

    /// From manifest metadata (`collections`).
    public static func from(_ value: JSONValue?) -> [VectorCollectionFacts] {
        guard let value, let data = try? JSONEncoder().encode(value) else { return [] }
        return (try? JSONDecoder().decode([VectorCollectionFacts].self, from: data)) ?? []
    }

    /// Compares a restored store with what was recorded: `count` and `query` (a probe vector →
    /// the ids now nearest) are asked of the restored server. With `exact` (the index files
    /// themselves were restored) every probe must return the captured ids in order; otherwise
    /// (the index was rebuilt from the records, and approximate search may rank differently) at
    /// least 60% of the captured neighbours must come back. Returns lines for people; throws
    /// `.operationFailed` listing every difference.
    public static func check(
        _ recorded: [VectorCollectionFacts], exact: Bool = true, count: (String) throws -> Int64,
        query: (String, [Double], Int) throws -> [String]
    ) throws -> [String] {
        var problems: [String] = []
        var lines: [String] = []
        for facts in recorded {
            let now = try count(facts.name)
            if now != facts.count { problems.append("collection \(facts.name): \(now) records, the snapshot has \(facts.count)") }
            var matching = 0
            var found = 0
            var wanted = 0
            for probe in facts.probes {
                let ids = try query(facts.name, probe.vector, probe.ids.count)
                let overlap = Set(ids).intersection(probe.ids).count
                found += overlap
                wanted += probe.ids.count
                let passes = exact ? ids == probe.ids : overlap * 10 >= probe.ids.count * 6
                if ids == probe.ids { matching += 1 }
                if !passes {
                    problems.append("collection \(facts.name): a probe query returned \(ids.prefix(5)) instead of \(probe.ids.prefix(5))")
                }
            }
            lines.append(
                "collection \(facts.name): \(now) records (as captured), \(matching)/\(facts.probes.count) probe queries return the captured neighbours exactly, recall \(found)/\(wanted)"
            )
        }
        guard problems.isEmpty else {
            throw LifeboatError(.operationFailed, "the restored store differs from the snapshot: " + problems.joined(separator: "; "))
        }
        return lines
    }
}
