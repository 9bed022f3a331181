import Foundation

/// `verify` in an S3 Object Lock repository: every object a snapshot needs (its manifest, its
/// packs; format 1: its stored files) must be locked at least until the date its manifest
/// records (`locked_until`), a pack several snapshots share until the latest of theirs. An
/// object locked for less (not extended, written without a lock, a governance lock shortened)
/// is a problem naming the object, its lock and the snapshot that needs more; so is a pack none
/// of whose index files is locked that long (it could not be found). Dates already past are not
/// checked. One HEAD per object.
struct LockCheck {
    let repository: Repository
    let s3: S3Storage
    let progress: ProgressLine

    /// The problems found, and how many objects were checked.
    func run(_ snapshots: [Manifest], store: ChunkStore?) -> (problems: [VerifyReport.Problem], checked: Int) {
        var needs: [String: (until: Date, snapshot: Manifest)] = [:]
        var problems: [VerifyReport.Problem] = []
        let now = Date()
        func need(_ key: String, _ until: Date, _ snapshot: Manifest) {
            if until > now, (needs[key]?.until ?? .distantPast) < until { needs[key] = (until, snapshot) }
        }
        for snapshot in snapshots {
            guard let until = snapshot.lockedUntil else { continue }  // taken before the repository was locked, or by an older build
            need(snapshot.key, until, snapshot)
            for component in snapshot.components {
                do {
                    for key in try component.storedKeys(store: store) { need(key, until, snapshot) }
                } catch {
                    let message = (error as? LifeboatError)?.message ?? "\(error)"
                    problems.append(.init(snapshot: snapshot.name, id: snapshot.id, component: component.source, message: message))
                }
            }
        }
        var locks: [String: Date?] = [:]  // key → its lock (nil: not locked); absent: missing or unreadable
        for (i, (key, need)) in needs.sorted(by: { $0.key < $1.key }).enumerated() {
            progress.update("verify: object locks: \(i + 1) of \(needs.count)")
            let found: (mode: String?, until: Date?, version: String?)?
            do {
                found = try s3.objectLock(key)
            } catch {
                problems.append(.init(snapshot: need.snapshot.name, id: need.snapshot.id, component: nil, message: "\(key): \(error)"))
                continue
            }
            guard let found else { continue }  // missing objects are reported by the other checks
            locks[key] = found.until
            // The date is sent in whole seconds.
            if (found.until ?? .distantPast) < need.until.addingTimeInterval(-1) {
                problems.append(short(key, found.until, need))
            }
        }
        var checked = needs.count
        // A pack is found through an index file: one of those naming it must last as long.
        if let store {
            let naming = store.indexKeysByPack()
            for (key, need) in needs.sorted(by: { $0.key < $1.key }) where key.hasPrefix("packs/") {
                var best: Date?
                for index in naming[key] ?? [] {
                    if locks[index] == nil {
                        progress.update("verify: object locks: index file \(checked + 1)")
                        locks[index] = try? s3.objectLock(index)?.until
                        checked += 1
                    }
                    if let until = locks[index] ?? nil, until > best ?? .distantPast { best = until }
                }
                if (best ?? .distantPast) < need.until.addingTimeInterval(-1) {
                    problems.append(short("the index files naming \(key)", best, need))
                }
            }
        }
        progress.clear()
        return (problems, checked)
    }

    private func short(_ what: String, _ until: Date?, _ need: (until: Date, snapshot: Manifest)) -> VerifyReport.Problem {
        let has = until.map { "locked only until \(Timestamp.rfc3339($0))" } ?? "not locked"
        return .init(
            snapshot: need.snapshot.name, id: need.snapshot.id, component: nil,
            message:
                "\(what) \(what.hasPrefix("the ") ? "are" : "is") \(has), but snapshot \(need.snapshot.name) needs it locked until \(Timestamp.rfc3339(need.until))"
        )
    }
}
