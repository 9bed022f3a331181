import Foundation
import LifeboatCore
import LifeboatTestSupport
import Testing

/// Logical PostgreSQL backups against a real PostgreSQL 15 (scripts/sandbox/pg-sandbox.sh): a pgbench
/// database backed up, dropped and restored with identical table checksums; an occupied target
/// refused; a damaged dump caught by `verify --deep` although every hash was resealed.
@Suite(.serialized) struct PostgresLogicalTests {
    func policy(_ box: Sandbox, port: Int, extra: String = "", format: Int = RepositoryConfig.currentFormat) throws {
        try """
        repository: \(box.repo)
        sources:
          db: {type: postgres, host: 127.0.0.1, port: \(port), database: app, user: postgres, mode: logical\(extra)}
        schedules:
          daily: {cron: "0 2 * * *"}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["init", "--repo", box.repo, "--format", String(format)]).status == 0)
    }

    /// A dry run asks the target server what the restore would: an occupied database without
    /// --force, and a server that does not answer, give the exit code of the real command.
    @Test func aDryRunRefusesWhatTheRestoreRefusesWithTheSameCode() throws {
        let box = try Sandbox("pg-dry")
        let server = try PostgresServer(in: box.root + "/pg")
        try server.pgbench(database: "app", scale: 1)
        try policy(box, port: server.port)
        #expect(try CLI.run(["backup", "--policy", box.policy]).status == 0)
        for extra in [["--to-database", "app"], ["--to-database", "app_new", "--to-port", "1"]] {
            let dry = try CLI.run(["restore", "latest", "--repo", box.repo, "--dry-run"] + extra)
            let real = try CLI.run(["restore", "latest", "--repo", box.repo] + extra)
            #expect(
                dry.status != 0 && dry.status == real.status, "\(extra): dry run \(dry.status) \(dry.stderr), restore \(real.status) \(real.stderr)")
        }
        let forced = try CLI.run(["restore", "latest", "--repo", box.repo, "--dry-run", "--to-database", "app", "--force"])
        #expect(forced.status == 0 && forced.stdout.contains("objects are replaced"), "\(forced.output)")
        let fresh = try CLI.run(["restore", "latest", "--repo", box.repo, "--dry-run", "--to-database", "app_new", "--json"])
        let plan = try #require(try fresh.json() as? [String: Any])
        #expect(fresh.status == 0 && plan["moves_aside"] == nil, "\(fresh.output)")
    }

    /// `--table` and `--schema` are pg_restore's own selectors: only the named table is
    /// restored (with its rows), the snapshot's others are not, and a selector that matches none
    /// of the snapshot's tables is exit 2 before anything is created.
    @Test func aTableSelectorRestoresThatTableOnly() throws {
        let box = try Sandbox("pg-table")
        let server = try PostgresServer(in: box.root + "/pg")
        try server.pgbench(database: "app", scale: 1)
        try policy(box, port: server.port)
        #expect(try CLI.run(["backup", "--policy", box.policy]).status == 0)

        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--to-database", "one_table", "--table", "pgbench_branches", "--json"])
        #expect(restore.status == 0, "\(restore.output)")
        let copy = try server.connect("one_table")
        #expect(try copy.value("SELECT count(*) FROM pgbench_branches") == "1")
        #expect(try copy.value("SELECT count(*) FROM pg_tables WHERE tablename = 'pgbench_accounts'") == "0")
        #expect(restore.stdout.contains("1 of the snapshot's 4 tables restored"), "\(restore.stdout)")

        let none = try CLI.run(["restore", "latest", "--repo", box.repo, "--to-database", "nothing", "--table", "no_such_table"])
        #expect(none.status == 2 && none.stderr.contains("matches none") && none.stderr.contains("pgbench_accounts"), "\(none.output)")
        #expect(try server.connect().value("SELECT count(*) FROM pg_database WHERE datname = 'nothing'") == "0")
        let dry = try CLI.run(["restore", "latest", "--repo", box.repo, "--to-database", "nothing", "--table", "no_such_table", "--dry-run"])
        #expect(dry.status == 2, "the dry run refuses what the restore refuses: \(dry.output)")
        let files = try CLI.run(["restore", "latest", "--repo", box.repo, "--to", box.root + "/dump", "--table", "pgbench_branches"])
        #expect(files.status == 2 && files.stderr.contains("--to-database"), "\(files.output)")
    }

    @Test func backupDropRestoreGivesIdenticalTableChecksums() throws {
        let box = try Sandbox("pg-logical")
        let server = try PostgresServer(in: box.root + "/pg")
        try server.pgbench(database: "app", scale: 5)
        let before = try PostgresServer.tableChecksums(try server.connect("app"))
        #expect(before["public.pgbench_accounts"]?.hasPrefix("500000:") == true)
        let secret = "s3cret-\(UUID().uuidString)"
        try secret.write(toFile: box.root + "/pgpass", atomically: true, encoding: .utf8)
        chmod(box.root + "/pgpass", 0o600)
        try policy(box, port: server.port, extra: ", password_file: \(box.root)/pgpass")

        let backup = try CLI.run(["backup", "--policy", box.policy, "--schedule", "daily"])
        #expect(backup.status == 0, "\(backup.output)")
        let manifest = try #require(try CLI.run(["show", "latest", "--repo", box.repo, "--json"]).json() as? [String: Any])
        let component = try #require((manifest["components"] as? [[String: Any]])?.first)
        let metadata = try #require(component["metadata"] as? [String: Any])
        #expect((metadata["server_version"] as? String)?.hasPrefix("15.") == true)
        #expect((metadata["database_size"] as? Int ?? 0) > 50_000_000)
        #expect((metadata["table_row_estimates"] as? [String: Any])?["public.pgbench_accounts"] as? Int == 500_000)
        let entries = try #require(component["entries"] as? [[String: Any]])
        #expect(entries.filter { ($0["path"] as? String)?.hasPrefix("pg_dump/part-") == true }.count >= 2)
        #expect(entries.contains { ($0["path"] as? String)?.hasPrefix("globals/part-") == true })
        // The password is in no manifest and no log line.
        let manifestText = try String(contentsOfFile: box.repo + "/snapshots/\(manifest["id"] as! String).json", encoding: .utf8)
        #expect(!manifestText.contains(secret) && !backup.output.contains(secret))
        #expect(try CLI.run(["verify", "--repo", box.repo, "--deep"]).status == 0)

        // An occupied database is refused and left alone.
        let refused = try CLI.run(["restore", "latest", "--repo", box.repo, "--to-database", "app"])
        #expect(refused.status == 2, "\(refused.output)")
        #expect(refused.stderr.contains("--force"))

        try server.connect().query("DROP DATABASE app")
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--source", "db", "--to-database", "app", "--json"])
        #expect(restore.status == 0, "\(restore.output)")
        #expect(try PostgresServer.tableChecksums(try server.connect("app")) == before)

        // --force restores over the existing objects (pg_restore --clean --if-exists).
        try server.connect("app").query("UPDATE pgbench_branches SET bbalance = bbalance + 1; DELETE FROM pgbench_history")
        let forced = try CLI.run(["restore", "latest", "--repo", box.repo, "--to-database", "app", "--force"])
        #expect(forced.status == 0, "\(forced.output)")
        #expect(try PostgresServer.tableChecksums(try server.connect("app")) == before)

        // --to DIR writes the dump for pg_restore and the globals.
        let files = try CLI.run(["restore", "latest", "--repo", box.repo, "--to", box.root + "/dump"])
        #expect(files.status == 0, "\(files.output)")
        let dump = try Data(contentsOf: URL(fileURLWithPath: box.root + "/dump/app.dump"))
        #expect(dump.prefix(5) == Data("PGDMP".utf8))
        #expect(Int64(dump.count) == (metadata["dump_bytes"] as? Int).map(Int64.init))
        #expect(try String(contentsOfFile: box.root + "/dump/globals.sql", encoding: .utf8).contains("CREATE ROLE"))
    }

    @Test func aFailedRestoreDropsTheDatabaseItCreatedAndAWrongPortIsAClearError() throws {
        let box = try Sandbox("pg-fail")
        let server = try PostgresServer(in: box.root + "/pg")
        try server.pgbench(database: "app", scale: 1)
        try policy(box, port: server.port)
        #expect(try CLI.run(["backup", "--policy", box.policy]).status == 0)
        // The dump needs role "ghost", which the target lacks: without the snapshot's globals
        // (--no-globals) pg_restore fails in its single transaction.
        try server.connect("app").query("CREATE ROLE ghost; ALTER TABLE pgbench_tellers OWNER TO ghost")
        #expect(try CLI.run(["backup", "--policy", box.policy]).status == 0)
        try server.connect("app").query("ALTER TABLE pgbench_tellers OWNER TO postgres; DROP ROLE ghost")
        let failed = try CLI.run(["restore", "latest", "--repo", box.repo, "--to-database", "copy", "--no-globals"])
        #expect(failed.status == 1, "\(failed.output)")
        #expect(failed.stderr.contains("pg_restore") && failed.stderr.contains("ghost"), "\(failed.stderr)")
        #expect(failed.stderr.contains("drop --no-globals"), "\(failed.stderr)")
        #expect(try server.connect().value("SELECT count(*) FROM pg_database WHERE datname = 'copy'") == "0")
        // With them (the default), the missing role is created first and the restore succeeds.
        let restored = try CLI.run(["restore", "latest", "--repo", box.repo, "--to-database", "copy"])
        #expect(restored.status == 0 && restored.stdout.contains("created 1 role") && restored.stdout.contains("ghost"), "\(restored.output)")
        #expect(try server.connect("copy").value("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'pgbench_tellers'") == "ghost")

        // A server that is not there: exit 1 naming it, and no snapshot.
        let count = try CLI.run(["snapshots", "--repo", box.repo, "--json"]).json() as? [Any]
        try """
        repository: \(box.repo)
        sources:
          db: {type: postgres, host: 127.0.0.1, port: \(try RedisServer.freePort()), database: app, user: postgres}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        let down = try CLI.run(["backup", "--policy", box.policy])
        #expect(down.status == 1, "\(down.output)")
        #expect(down.stderr.contains("cannot connect to PostgreSQL"))
        #expect((try CLI.run(["snapshots", "--repo", box.repo, "--json"]).json() as? [Any])?.count == count?.count)
    }

    @Test func aDamagedDumpIsCaughtByDeepVerifyEvenWithResealedHashes() throws {
        let box = try Sandbox("pg-damaged")
        let server = try PostgresServer(in: box.root + "/pg")
        try server.pgbench(database: "app", scale: 2)
        try policy(box, port: server.port, format: 1)  // it edits the format-1 stored file
        #expect(try CLI.run(["backup", "--policy", box.policy, "--compression", "none"]).status == 0)
        var (manifestPath, manifest, file, data) = try ManifestReseal.onlySnapshot(in: box.repo)
        // Zero 100 KB near the end of the dump's data (inside its last, large part).
        let start = try #require(data.range(of: Data("PGDMP".utf8))).lowerBound
        let dumpBytes = Int(manifest.components[0].metadata["dump_bytes"]?.intValue ?? 0)
        let end = start + dumpBytes
        for i in (end - 300_000)..<(end - 200_000) { data[i] = 0 }
        // Reseal: every entry hash, the stored file's hash and the manifest's checksum.
        try ManifestReseal.afterEditing(data, file: file, manifest: &manifest, at: manifestPath)

        #expect(try CLI.run(["verify", "--repo", box.repo]).status == 0)
        let deep = try CLI.run(["verify", "--repo", box.repo, "--deep"])
        #expect(deep.status == 3, "\(deep.output)")
        #expect(deep.stderr.contains("pg_restore cannot read the dump"), "\(deep.stderr)")
    }

    /// #13 item 10: a wrong PostgreSQL password exits 2, as a wrong Redis password does, and the
    /// right one (SCRAM, from a 0600 password_file) works.
    @Test func item10_aWrongPasswordExits2AndTheRightOneWorks() throws {
        let box = try Sandbox("pg-auth")
        let server = try PostgresServer(in: box.root + "/pg")
        let c = try server.connect()
        try c.query("SET password_encryption = 'scram-sha-256'")
        try c.query("CREATE ROLE app_owner LOGIN PASSWORD 'right-pw'")
        try c.query("CREATE DATABASE app OWNER app_owner")
        // Only this role must give a password: prepend a SCRAM line to the cluster's trust rules.
        let hba = server.dataDirectory + "/pg_hba.conf"
        let rules = try String(contentsOfFile: hba, encoding: .utf8)
        try ("host all app_owner 127.0.0.1/32 scram-sha-256\n" + rules).write(toFile: hba, atomically: true, encoding: .utf8)
        try PostgresServer.giveToOwner(hba)
        _ = try c.query("SELECT pg_reload_conf()")
        usleep(300_000)

        let secret = box.root + "/pgpass"
        try "wrong-pw\n".write(toFile: secret, atomically: true, encoding: .utf8)
        chmod(secret, 0o600)
        try """
        repository: \(box.repo)
        sources:
          db: {type: postgres, host: 127.0.0.1, port: \(server.port), database: app, user: app_owner, mode: logical, password_file: \(secret)}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        let wrong = try CLI.run(["backup", "--policy", box.policy])
        #expect(wrong.status == 2, "\(wrong.output)")
        #expect(wrong.stderr.contains("authentication failed"), "\(wrong.stderr)")
        #expect(!wrong.output.contains("wrong-pw"))
        #expect((try CLI.run(["snapshots", "--repo", box.repo, "--json"]).json() as? [Any])?.isEmpty == true)

        try "right-pw\n".write(toFile: secret, atomically: true, encoding: .utf8)
        chmod(secret, 0o600)
        let right = try CLI.run(["backup", "--policy", box.policy])
        #expect(right.status == 0, "\(right.output)")
    }

    @Test func clientProgramsOfAnotherMajorVersionAreRefused() throws {
        let box = try Sandbox("pg-version")
        let server = try PostgresServer(in: box.root + "/pg")
        // A bin_dir whose pg_dump says it is PostgreSQL 16's.
        try FileManager.default.createDirectory(atPath: box.root + "/bin16", withIntermediateDirectories: true)
        for tool in ["pg_dump", "pg_dumpall"] {
            try "#!/bin/sh\necho '\(tool) (PostgreSQL) 16.4 (Debian 16.4-1)'\n".write(
                toFile: box.root + "/bin16/" + tool, atomically: true, encoding: .utf8)
            chmod(box.root + "/bin16/" + tool, 0o755)
        }
        try """
        repository: \(box.repo)
        sources:
          db: {type: postgres, port: \(server.port), user: postgres, bin_dir: \(box.root)/bin16}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        let result = try CLI.run(["backup", "--policy", box.policy])
        #expect(result.status == 2, "\(result.output)")
        #expect(result.stderr.contains("PostgreSQL 16's pg_dump") && result.stderr.contains("runs PostgreSQL 15"), "\(result.stderr)")
        #expect((try CLI.run(["snapshots", "--repo", box.repo, "--json"]).json() as? [Any])?.isEmpty == true)
    }

    /// The disaster case: the old server is gone. A database whose schemas, tables and default
    /// privileges belong to and are granted to roles restores into a *fresh* cluster (initdb)
    /// with every owner and grant equal; a role that exists there is not altered.
    @Test func aRestoreIntoAFreshClusterCreatesTheMissingRolesAndKeepsEveryGrant() throws {
        let box = try Sandbox("pg-fresh")
        let source = try PostgresServer(in: box.root + "/pg")
        let setup = try source.connect()
        try setup.query(
            """
            CREATE ROLE app_owner NOLOGIN; CREATE ROLE app_reader LOGIN PASSWORD 'reader-pw'; CREATE ROLE "Audit Team" NOLOGIN;
            GRANT app_reader TO "Audit Team"; COMMENT ON ROLE app_reader IS 'read-only API'
            """)
        try setup.query("CREATE DATABASE app OWNER app_owner")
        try source.connect("app").query(
            """
            CREATE SCHEMA sales AUTHORIZATION app_owner; CREATE SCHEMA audit AUTHORIZATION app_owner;
            SET ROLE app_owner;
            CREATE TABLE sales.orders (id int PRIMARY KEY, total numeric); INSERT INTO sales.orders SELECT g, g * 1.5 FROM generate_series(1, 100) g;
            CREATE TABLE audit.log (id int, what text);
            GRANT USAGE ON SCHEMA sales TO app_reader; GRANT SELECT ON sales.orders TO app_reader;
            GRANT USAGE ON SCHEMA audit TO "Audit Team"; GRANT SELECT, INSERT ON audit.log TO "Audit Team";
            ALTER DEFAULT PRIVILEGES IN SCHEMA sales GRANT SELECT ON TABLES TO app_reader;
            RESET ROLE
            """)
        let facts = { (c: PostgresConnection) throws -> [String] in
            let roles = try c.query(
                "SELECT rolname || ':' || rolcanlogin FROM pg_roles WHERE rolname IN ('app_owner', 'app_reader', 'Audit Team') ORDER BY 1")
            let grants = try c.query(
                "SELECT grantee || ':' || table_schema || '.' || table_name || ':' || privilege_type FROM information_schema.role_table_grants WHERE table_schema IN ('sales', 'audit') ORDER BY 1"
            )
            let owners = try c.query(
                "SELECT n.nspname || '.' || c.relname || ':' || pg_get_userbyid(c.relowner) || ':' || coalesce(c.relacl::text, '') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('sales', 'audit') AND c.relkind = 'r' ORDER BY 1"
            )
            let schemas = try c.query(
                "SELECT nspname || ':' || pg_get_userbyid(nspowner) || ':' || coalesce(nspacl::text, '') FROM pg_namespace WHERE nspname IN ('sales', 'audit') ORDER BY 1"
            )
            let defaults = try c.query(
                "SELECT pg_get_userbyid(defaclrole) || ':' || defaclobjtype::text || ':' || defaclacl::text FROM pg_default_acl ORDER BY 1")
            let members = try c.query(
                "SELECT r.rolname || ' in ' || g.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member JOIN pg_roles g ON g.oid = m.roleid WHERE r.rolname = 'Audit Team'"
            )
            return (roles + grants + owners + schemas + defaults + members).map { $0[0] ?? "NULL" }
        }
        let before = try facts(try source.connect("app"))
        #expect(before.contains("app_reader:sales.orders:SELECT") && before.contains("Audit Team in app_reader"))
        try """
        repository: \(box.repo)
        sources:
          db: {type: postgres, host: 127.0.0.1, port: \(source.port), database: app, user: postgres}
        """.write(toFile: box.policy, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["init", "--repo", box.repo]).status == 0)
        let backup = try CLI.run(["backup", "--policy", box.policy])
        #expect(backup.status == 0, "\(backup.output)")

        // A fresh cluster: only postgres exists. --no-globals shows the failure this fixes.
        let fresh = try PostgresServer(in: box.root + "/fresh")
        let without = try CLI.run(["restore", "latest", "--repo", box.repo, "--to-database", "app", "--to-port", String(fresh.port), "--no-globals"])
        #expect(without.status == 1 && without.stderr.contains("does not exist"), "\(without.output)")
        #expect(try fresh.connect().value("SELECT count(*) FROM pg_database WHERE datname = 'app'") == "0")
        // The dry run names the roles the restore will create, and creates none.
        let dry = try CLI.run(["restore", "latest", "--repo", box.repo, "--to-database", "app", "--to-port", String(fresh.port), "--dry-run"])
        #expect(dry.status == 0 && dry.stdout.contains("would create 3 roles the target lacks"), "\(dry.output)")
        #expect(try fresh.connect().value("SELECT count(*) FROM pg_roles WHERE rolname = 'app_reader'") == "0")
        let restore = try CLI.run(["restore", "latest", "--repo", box.repo, "--to-database", "app", "--to-port", String(fresh.port), "--json"])
        #expect(restore.status == 0, "\(restore.output)")
        #expect(restore.stdout.contains("created 3 roles"), "\(restore.stdout)")
        #expect(try facts(try fresh.connect("app")) == before)
        #expect(
            try fresh.connect().value("SELECT description FROM pg_shdescription d JOIN pg_roles r ON r.oid = d.objoid WHERE r.rolname = 'app_reader'")
                == "read-only API")

        // A third cluster where app_reader exists already, without LOGIN: it stays as it is.
        let other = try PostgresServer(in: box.root + "/other")
        try other.connect().query("CREATE ROLE app_reader NOLOGIN")
        let kept = try CLI.run(["restore", "latest", "--repo", box.repo, "--to-database", "app", "--to-port", String(other.port)])
        #expect(kept.status == 0, "\(kept.output)")
        #expect(try other.connect().value("SELECT rolcanlogin::text FROM pg_roles WHERE rolname = 'app_reader'") == "false")
        #expect(try other.connect("app").value("SELECT count(*) FROM sales.orders") == "100")
    }
}
