import Foundation

/// The attack of a `ransomware` drill: with the backup host's own credentials (the policy's), it
/// tries to delete every object of the repository one by one, then all of them in one
/// multi-object DELETE, then the bucket. In an append-only repository S3 refuses every call.
///
/// It never destroys a repository that is not protected: it runs only on an append-only S3
/// repository, and first DELETEs a key that does not exist under each of the repository's
/// prefixes; S3 answers a permitted DELETE of a missing key with 204, so one such answer stops
/// the attack before any real object is touched. Should a real DELETE still succeed (a policy
/// that tells keys apart), the attack stops at that first one.
struct RansomwareAttack {
    let repository: Repository
    let progress: ProgressLine

    /// The prefixes probed, and so the ones a policy must protect.
    static let prefixes = ["", "snapshots/", "packs/", "index/", "data/", "wal/", "drills/", "state/"]

    /// Refuses a repository this drill must not attack (exit 2, before anything is sent).
    static func checkTarget(_ repository: Repository) throws -> S3Storage {
        guard let s3 = repository.storage as? S3Storage else {
            throw LifeboatError(
                .invalidInput, "a ransomware drill attacks an append-only S3 repository; \(repository.location) is a directory",
                fix: "point the drill's policy at an S3 repository made with `lifeboat init --append-only`")
        }
        guard repository.config.isAppendOnly else {
            throw LifeboatError(
                .invalidInput,
                "\(repository.location) is not append-only: a ransomware drill would delete every backup in it; nothing was attempted",
                fix: "make the repository append-only (docs/append-only.md) and run the drill with the backup host's credentials")
        }
        guard !s3.usesAdminCredentials else {
            throw LifeboatError(.invalidInput, "a ransomware drill attacks with the backup host's credentials, not admin credentials")
        }
        return s3
    }

    static let probeName = ".lifeboat-delete-probe"

    /// A DELETE of a key that does not exist under `prefix`: S3 permits it (2xx) exactly where
    /// these credentials may delete, and nothing is lost either way.
    static func probe(_ s3: S3Storage, _ prefix: String) throws -> S3Storage.DeleteAnswer {
        try s3.deleteAnswer(prefix + probeName)
    }

    /// The first of the repository's prefixes where these credentials may delete, if any.
    static func deletablePrefix(_ s3: S3Storage) throws -> String? {
        try prefixes.first { try !probe(s3, $0).refused }
    }

    func run() throws -> DrillReport.AttackSummary {
        let s3 = try Self.checkTarget(repository)
        let started = Date()
        var summary = DrillReport.AttackSummary(
            started: Timestamp.rfc3339(started, fractional: true), seconds: 0, objectsBefore: 0, objectsAfter: 0,
            attempts: 0, refused: 0, succeeded: 0, protected: false)
        defer { progress.clear() }
        let before = try s3.list("").filter { !$0.key.hasPrefix("locks/") }
        summary.objectsBefore = before.count
        var attempts: [DrillReport.AttackAttempt] = []
        func record(_ what: String, _ answer: S3Storage.DeleteAnswer) -> Bool {
            summary.attempts += 1
            if answer.refused { summary.refused += 1 } else { summary.succeeded += 1 }
            if !answer.refused || attempts.count < 20 || what.hasPrefix("DELETE bucket") || what.hasPrefix("multi") {
                attempts.append(.init(request: what, status: answer.status, code: answer.code, refused: answer.refused))
            }
            return answer.refused
        }
        // Probes: a missing key under every prefix. A permitted one changes nothing and stops it all.
        for prefix in Self.prefixes {
            guard record("DELETE \(prefix)\(Self.probeName) (a key that does not exist)", try Self.probe(s3, prefix)) else {
                summary.stoppedBecause = "S3 permitted a DELETE under \"\(prefix)\": these credentials may delete; no backup was touched"
                return finish(summary, attempts, s3, started)
            }
        }
        for (i, object) in before.enumerated() {
            progress.update("ransomware drill: DELETE \(i + 1) of \(before.count): \(object.key)")
            guard record("DELETE \(object.key)", try s3.deleteAnswer(object.key)) else {
                summary.stoppedBecause = "S3 deleted \(object.key): the repository is not protected; the attack stopped there"
                return finish(summary, attempts, s3, started)
            }
        }
        if !before.isEmpty {
            _ = record("multi-object DELETE of all \(before.count) objects", try s3.deleteAnswer(batch: before.map(\.key)))
        }
        _ = record("DELETE bucket", try s3.deleteAnswer(nil))
        return finish(summary, attempts, s3, started)
    }

    private func finish(
        _ summary: DrillReport.AttackSummary, _ attempts: [DrillReport.AttackAttempt], _ s3: S3Storage, _ started: Date
    ) -> DrillReport.AttackSummary {
        var summary = summary
        summary.objectsAfter = (try? s3.list("").filter { !$0.key.hasPrefix("locks/") }.count) ?? -1
        summary.protected = summary.succeeded == 0 && summary.objectsAfter == summary.objectsBefore && summary.stoppedBecause == nil
        summary.sample = attempts
        summary.seconds = DrillRunner.round(Date().timeIntervalSince(started))
        return summary
    }
}

extension S3Storage {
    /// What S3 answered a DELETE: the ransomware drill records it instead of judging it.
    public struct DeleteAnswer: Sendable {
        public var status: Int
        public var code: String
        /// Refused by S3 (403, or anything but success): nothing was deleted.
        public var refused: Bool
    }

    /// One DELETE of `key` (nil: the bucket itself).
    func deleteAnswer(_ key: String?) throws -> DeleteAnswer {
        let response = try client.send("DELETE", key.map(objectKey))
        let ok = (200..<300).contains(response.status)
        return DeleteAnswer(status: response.status, code: XMLText.first("Code", in: response.text) ?? "", refused: !ok)
    }

    /// One multi-object DELETE of up to 1,000 of `keys`: refused unless S3 deleted any of them.
    func deleteAnswer(batch keys: [String]) throws -> DeleteAnswer {
        let batch = keys.prefix(1000)
        let response = try multiDelete(batch)
        let code = XMLText.first("Code", in: response.text) ?? ""
        guard response.status == 200 else { return DeleteAnswer(status: response.status, code: code, refused: true) }
        // Quiet mode lists only the keys that failed: every key not listed was deleted.
        let failed = XMLText.all("Error", in: response.text).count
        return DeleteAnswer(status: response.status, code: failed == batch.count ? code : "", refused: failed == batch.count)
    }
}
