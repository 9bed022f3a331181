import Foundation

/// Append-only repositories (`init --append-only`, docs/append-only.md): the hosts that back up
/// hold S3 credentials that may add objects but not delete them, so a compromised host cannot
/// destroy its backups. Deleting (`forget`, `prune`, the retention step of `run`) happens
/// elsewhere, with `--admin-credentials`.
extension Repository {
    /// False when the repository is append-only and was opened without admin credentials:
    /// then nothing may try to delete (a backup that fails leaves its garbage for an admin prune).
    public var mayDelete: Bool { !config.isAppendOnly || storage.usesAdminCredentials }

    /// Refuses `command`, which deletes, in an append-only repository opened without admin
    /// credentials (exit 2, before any lock is taken or anything is read).
    public func requireDeletion(by command: String) throws {
        guard !mayDelete else { return }
        throw LifeboatError(
            .invalidInput,
            "\(location) is append-only: `\(command)` deletes, and the credentials this host writes with may not delete",
            fix:
                "run it where the admin credentials are: `\(command) --admin-credentials FILE` (docs/append-only.md); "
                + "--dry-run shows here what it would remove")
    }
}
