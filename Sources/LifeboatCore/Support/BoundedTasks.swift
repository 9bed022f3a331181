import Foundation

/// Independent work items run concurrently, at most `limit` at once (a drill's sources, a
/// whole-system restore's sources); results come back in the items' order, and the first
/// error cancels the rest.
enum BoundedTasks {
    static func map<Item: Sendable, Result: Sendable>(
        _ items: [Item], limit: Int, _ body: @escaping @Sendable (Item) async throws -> Result
    ) async throws -> [Result] {
        var results = [Result?](repeating: nil, count: items.count)
        let width = max(1, min(limit, items.count))
        try await withThrowingTaskGroup(of: (Int, Result).self) { group in
            var next = 0
            func start() {
                let index = next
                let item = items[index]
                group.addTask { (index, try await body(item)) }
                next += 1
            }
            while next < width { start() }
            while let (index, result) = try await group.next() {
                results[index] = result
                if next < items.count { start() }
            }
        }
        return results.map { $0! }
    }
}
