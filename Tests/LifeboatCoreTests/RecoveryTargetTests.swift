import Foundation
import Testing

@testable import LifeboatCore

/// `restore_command` of a point-in-time restore: an encrypted repository's key file travels as
/// an absolute path (never the key), or WAL fetches would fail and recovery stop early.
@Suite struct RecoveryTargetTests {
    func restoreCommand(_ target: RecoveryTarget) -> String? {
        target.settings(executable: "/usr/bin/lifeboat", port: nil, socketDirectory: nil).first { $0.0 == "restore_command" }?.1
    }

    @Test func plainRepositoriesPassNoKey() {
        let command = restoreCommand(RecoveryTarget(kind: .latest, repository: "s3://b/p"))
        #expect(command == "'/usr/bin/lifeboat' wal fetch --repo 's3://b/p' %f \"%p\"")
    }

    @Test func encryptedRepositoriesPassTheKeyFilePath() {
        let target = RecoveryTarget(kind: .latest, repository: "/backup/prod", keyFiles: KeyFiles(privateKey: "/etc/lifeboat/team.key"))
        #expect(restoreCommand(target) == "'/usr/bin/lifeboat' wal fetch --repo '/backup/prod' --private-key '/etc/lifeboat/team.key' %f \"%p\"")
        let symmetric = RecoveryTarget(kind: .latest, repository: "/backup/prod", keyFiles: KeyFiles(keyFile: "/etc/lifeboat/repo.key"))
        #expect(restoreCommand(symmetric)?.contains("--key-file '/etc/lifeboat/repo.key' %f") == true)
    }
}
