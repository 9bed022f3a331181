import ArgumentParser
import LifeboatCore

/// `--admin-credentials FILE` of the commands that delete (`forget`, `prune`).
struct AdminCredentialsOption: ParsableArguments {
    @Option(
        name: .long,
        help: "AWS shared-credentials file with the S3 credentials that may delete (needed in an append-only repository).")
    var adminCredentials: String?

    /// Opens the repository, with the admin credentials when given.
    func openRepository(_ global: GlobalOptions, policy: Policy? = nil) throws -> Repository {
        guard let adminCredentials else { return try global.openRepository(policy: policy) }
        let location = try global.repositoryPath(policy: policy)
        guard location.hasPrefix("s3://") else {
            throw LifeboatError(
                .invalidInput, "--admin-credentials is for S3 repositories; \(location) is a directory",
                fix: "drop --admin-credentials: a directory repository has no separate credentials")
        }
        var settings = global.storageSettings(policy: policy)
        settings.adminCredentialsFile = adminCredentials
        return try Repository(opening: location, settings: settings, keyFiles: global.keyFiles(policy: policy))
    }
}
