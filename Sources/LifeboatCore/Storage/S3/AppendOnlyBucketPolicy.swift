import Foundation

/// The bucket policy that makes backup hosts append-only on one repository (docs/append-only.md):
/// they may read, add, and abort their own unfinished uploads, and delete only lock records
/// (`locks/`, which they release); everything that destroys (DELETE, policy, lifecycle,
/// versioning, ACL and lock changes) is denied. Written by `init --append-only --host-principal`,
/// or applied by the operator. Tested on Ceph RGW, whose principals are `arn:aws:iam:::user/NAME`
/// (AWS: `arn:aws:iam::ACCOUNT:user/NAME`).
public enum AppendOnlyBucketPolicy {
    /// What the hosts may do under the repository's prefix.
    /// `s3:PutObjectRetention` sets and extends Object Lock dates; shortening one needs the
    /// governance bypass, which is denied.
    static let hostObjectActions = [
        "s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:GetObjectRetention",
        "s3:PutObjectRetention",
    ]
    static let hostBucketActions = ["s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:GetBucketLocation"]
    /// Denied everywhere but under `locks/`.
    static let deniedActions = [
        "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy",
        "s3:PutLifecycleConfiguration", "s3:PutBucketVersioning", "s3:PutBucketAcl", "s3:PutObjectAcl",
        "s3:PutBucketObjectLockConfiguration", "s3:BypassGovernanceRetention", "s3:PutObjectLegalHold",
    ]

    /// The policy document for `principals` on the repository at `storage`.
    public static func document(for storage: S3Storage, principals: [String]) -> String {
        let objects = "arn:aws:s3:::\(storage.bucket)/\(storage.prefix)*"
        let locks = "arn:aws:s3:::\(storage.bucket)/\(storage.prefix)locks/*"
        let who: [String: Any] = ["AWS": principals]
        let statements: [[String: Any]] = [
            ["Sid": "LifeboatHostsReadAndAdd", "Effect": "Allow", "Principal": who, "Action": hostObjectActions, "Resource": [objects]],
            [
                "Sid": "LifeboatHostsList", "Effect": "Allow", "Principal": who, "Action": hostBucketActions,
                "Resource": ["arn:aws:s3:::\(storage.bucket)"],
            ],
            ["Sid": "LifeboatHostsReleaseLocks", "Effect": "Allow", "Principal": who, "Action": ["s3:DeleteObject"], "Resource": [locks]],
            ["Sid": "LifeboatHostsCannotDestroy", "Effect": "Deny", "Principal": who, "Action": deniedActions, "NotResource": [locks]],
        ]
        let data = try! JSONSerialization.data(
            withJSONObject: ["Version": "2012-10-17", "Statement": statements], options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}

extension S3Storage {
    /// The bucket's policy document, or nil when it has none.
    public func bucketPolicy() throws -> String? {
        let response = try client.send("GET", nil, query: [("policy", "")])
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw client.failure("read the policy of bucket \(bucket)", response) }
        return response.text
    }

    /// Replaces the bucket's policy.
    public func putBucketPolicy(_ document: String) throws {
        let response = try client.send("PUT", nil, query: [("policy", "")], body: Array(document.utf8))
        guard (200..<300).contains(response.status) else { throw client.failure("set the policy of bucket \(bucket)", response) }
    }
}
