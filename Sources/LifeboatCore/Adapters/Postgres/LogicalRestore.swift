import Foundation

/// Restores a logical dump into a database (`--to-database`), on the source's server unless
/// `--to-host`/`--to-port` say otherwise. The database is created (from template0) when absent;
/// an existing one that holds tables is refused unless `force`, which restores with
/// `--clean --if-exists`. `pg_restore` runs in one transaction and is fed the parts in order; the
/// last 64 KiB are held back until every part and the stored file are proven, so pg_restore
/// cannot commit anything the manifest does not vouch for. A database this restore created is
/// dropped again when the restore fails.
///
/// Roles: the snapshot's globals (`pg_dumpall --globals-only`, stored before the dump since this
/// build) are read first, and the roles the target cluster lacks are created before pg_restore
/// sees a byte (`GlobalsScript`: never altering or dropping an existing role; dropped again if
/// the restore fails). `options.applyGlobals = false` (`--no-globals`) turns this off. Snapshots
/// of older builds store the globals after the dump: their roles are not created here.
///
/// A directory-format dump (`jobs: N`) is written into a private scratch directory (under
/// TMPDIR) first, each file proven as it is written, and pg_restore runs only once the whole
/// stream is proven: with `-j N` into a database this restore created (dropped again if
/// pg_restore fails), otherwise in one transaction, one job.
///
/// Without a database but with `--to DIR`, writes the dump (`DATABASE.dump`, for pg_restore; a
/// directory `DATABASE.dir` for a directory-format dump) and `globals.sql` into DIR instead.
struct LogicalRestore {
    static let heldBack = 65536

    let component: Manifest.Component
    let database: String
    /// The target server (nil: the source's).
    let host: String?
    let port: Int?
    let options: RestoreOptions

    /// What the restore finds on the target server, checked before anything is written (and by
    /// `restore --dry-run`): the server answers, runs the dump's major version or newer, has the
    /// client programs of its version, and the database is absent, empty, or `force` is given.
    struct Preflight {
        var endpoint: PostgresEndpoint
        var admin: PostgresConnection
        var pgRestore: String
        var exists: Bool
        /// Tables, views and sequences the existing database holds (replaced with `force`).
        var occupied: Int
    }

    func preflight() throws -> Preflight {
        let endpoint = PostgresEndpoint(recordedIn: component, host: host, port: port)
        let admin = try endpoint.connect(database: "postgres")
        let dumpMajor = PostgresMetadata(component).serverMajor
        guard admin.majorVersion >= dumpMajor else {
            throw LifeboatError(
                .invalidInput, "the dump comes from PostgreSQL \(dumpMajor); the target server runs \(admin.majorVersion)",
                fix: "restore onto PostgreSQL \(dumpMajor) or newer")
        }
        let pgRestore = try endpoint.tool("pg_restore", major: admin.majorVersion)
        let exists = try admin.value("SELECT 1 FROM pg_database WHERE datname = $1", [database]) != nil
        let occupied = exists ? try Int(endpoint.connect(database: database).value(Self.userRelationCount) ?? "0") ?? 0 : 0
        if occupied > 0 && !options.force {
            throw LifeboatError(
                .invalidInput, "database \"\(database)\" exists and holds \(occupied) tables, views or sequences",
                fix: "restore into a new database name, or add --force to replace its objects (pg_restore --clean --if-exists)")
        }
        return Preflight(endpoint: endpoint, admin: admin, pgRestore: pgRestore, exists: exists, occupied: occupied)
    }

    func run(reader: ComponentReader) throws -> RestoreOutcome {
        let found = try preflight()
        let (endpoint, admin, pgRestore) = (found.endpoint, found.admin, found.pgRestore)
        let quoted = PostgresConnection.quoteIdentifier(database)
        var created = false
        if !found.exists {
            try admin.query("CREATE DATABASE \(quoted) TEMPLATE template0")
            created = true
        }
        var roles: [String] = []
        do {
            let clean = !created && options.force
            var checks: [String] = []
            let bytes: Int64
            let recorded = PostgresMetadata(component)
            if recorded.isDirectoryDump {
                let jobs = recorded.jobs ?? 1
                let parallel = jobs > 1 && created
                bytes = try feedDirectory(
                    reader: reader, pgRestore: pgRestore, endpoint: endpoint, clean: clean, jobs: parallel ? jobs : 1, admin: admin,
                    roles: &roles)
                checks.append(
                    parallel
                        ? "pg_restore -j \(jobs) from the proven dump directory (not one transaction: had it failed, the database this restore created would have been dropped)"
                        : "pg_restore in one transaction from the proven dump directory"
                            + (jobs > 1 ? " (one job: -j cannot run in one transaction, and the database existed)" : ""))
            } else {
                bytes = try feed(
                    reader: reader, pgRestore: pgRestore, endpoint: endpoint, database: database,
                    clean: clean, admin: admin, roles: &roles)
            }
            checks += try check(try endpoint.connect(database: database))
            if !roles.isEmpty {
                checks.append(
                    "created \(roles.count) role\(roles.count == 1 ? "" : "s") the target lacked, from the snapshot's globals: \(roles.joined(separator: ", "))"
                )
            }
            return RestoreOutcome(
                target: "\(endpoint.host):\(endpoint.port)/\(database)", entries: component.entryCount,
                bytes: bytes, checks: checks)
        } catch {
            if created {
                _ = try? admin.query("DROP DATABASE IF EXISTS \(quoted)")
            }
            try? GlobalsScript.drop(roles, on: admin)
            throw error
        }
    }

    static let userRelationCount = """
        SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
        """

    /// Streams the dump parts into pg_restore; returns the dump's size.
    private func feed(
        reader: ComponentReader, pgRestore: String, endpoint: PostgresEndpoint, database: String,
        clean: Bool, admin: PostgresConnection, roles: inout [String]
    ) throws -> Int64 {
        let arguments = pgRestoreArguments(pgRestore, endpoint: endpoint, clean: clean, jobs: 1)
        let child = try RunningChild(arguments, stdin: .pipe, stdout: .null, environment: try endpoint.childEnvironment())
        let total = component.entries.filter { SegmentedStream.isPart($0.path, prefix: LogicalDump.dumpPrefix) }.reduce(0) { $0 + $1.size }
        var input = HeldBackInput(child: child, total: total, heldBack: Self.heldBack)
        var globals: [UInt8] = []
        var dumpStarted = false
        do {
            while let entry = try reader.next() {
                if !dumpStarted && SegmentedStream.isPart(entry.record.path, prefix: LogicalDump.globalsPrefix) {
                    try reader.readData { globals += $0 }
                    continue
                }
                guard SegmentedStream.isPart(entry.record.path, prefix: LogicalDump.dumpPrefix) else { continue }
                if !dumpStarted {
                    dumpStarted = true
                    // Every globals part is proven (its SHA-256 checked as it was read): the
                    // roles the dump's owners and grants name exist before pg_restore runs.
                    if options.applyGlobals && !globals.isEmpty {
                        roles = try GlobalsScript(String(decoding: globals, as: UTF8.self)).createMissing(on: admin)
                    }
                }
                try reader.readData { bytes in
                    try input.feed(bytes)
                    options.progress.update(
                        "restoring \(component.source) into \(database): \(ProgressLine.bytes(input.sent)) of \(ProgressLine.bytes(total))")
                }
            }
            // Every part and the stored file are proven: let pg_restore finish and commit.
            try input.release()
        } catch {
            child.terminate()
            _ = try? child.wait()
            options.progress.clear()
            throw error
        }
        options.progress.clear()
        child.closeInput()
        let code = try child.wait()
        guard code == 0 else { throw Self.pgRestoreFailure(code: code, text: child.errorText, globals: globals, options: options) }
        return total
    }

    /// A directory-format dump: its files into a scratch directory, each proven as it is written;
    /// once the whole stream is proven, the roles, then pg_restore on the directory (`jobs` at a
    /// time, or in one transaction when 1). Returns the dump's size.
    private func feedDirectory(
        reader: ComponentReader, pgRestore: String, endpoint: PostgresEndpoint, clean: Bool, jobs: Int,
        admin: PostgresConnection, roles: inout [String]
    ) throws -> Int64 {
        let scratch = try DumpDirectory(in: NSTemporaryDirectory(), label: "pg_restore")
        let total = component.entries.filter { DumpDirectory.fileName(of: $0.path) != nil }.reduce(0) { $0 + $1.size }
        var globals: [UInt8] = []
        var written: Int64 = 0
        while let entry = try reader.next() {
            if SegmentedStream.isPart(entry.record.path, prefix: LogicalDump.globalsPrefix) {
                try reader.readData { globals += $0 }
                continue
            }
            guard let name = DumpDirectory.fileName(of: entry.record.path) else { continue }
            try scratch.write(name, from: reader) { count in
                written += Int64(count)
                options.progress.update(
                    "restoring \(component.source) into \(database): reading the dump, \(ProgressLine.bytes(written)) of \(ProgressLine.bytes(total))"
                )
            }
        }
        // Every file and the stored stream are proven: the roles, then pg_restore.
        if options.applyGlobals && !globals.isEmpty {
            roles = try GlobalsScript(String(decoding: globals, as: UTF8.self)).createMissing(on: admin)
        }
        let arguments = pgRestoreArguments(pgRestore, endpoint: endpoint, clean: clean, jobs: jobs) + [scratch.path]
        options.progress.update("restoring \(component.source) into \(database): pg_restore\(jobs > 1 ? " -j \(jobs)" : "")")
        let child = try RunningChild(arguments, stdout: .null, environment: try endpoint.childEnvironment())
        let code = try child.wait()
        options.progress.clear()
        guard code == 0 else { throw Self.pgRestoreFailure(code: code, text: child.errorText, globals: globals, options: options) }
        return total
    }

    /// pg_restore into `database`: `jobs` at a time, or in one transaction when 1; `clean` replaces
    /// existing objects; `--schema`/`--table` as selected. Its input is added by the caller.
    private func pgRestoreArguments(_ pgRestore: String, endpoint: PostgresEndpoint, clean: Bool, jobs: Int) -> [String] {
        var arguments = [pgRestore, "--exit-on-error"] + (jobs > 1 ? ["--jobs=\(jobs)"] : ["--single-transaction"])
        arguments += endpoint.connectionArguments + ["--dbname", database]
        if clean { arguments += ["--clean", "--if-exists"] }
        return arguments + options.schemas.map { "--schema=\($0)" } + options.tables.map { "--table=\($0)" }
    }

    /// pg_restore's failure, with the fix for the causes we know: a missing role, a tablespace.
    static func pgRestoreFailure(code: Int32, text: String, globals: [UInt8], options: RestoreOptions) -> LifeboatError {
        var fix: String?
        if text.contains("role") && text.contains("does not exist") {
            fix =
                globals.isEmpty
                ? "this snapshot stores its roles after the dump (an older build) or none: restore with --to DIR, apply globals.sql with psql, then restore again"
                : (options.applyGlobals ? nil : "drop --no-globals to create the missing roles from the snapshot")
        } else if text.contains("tablespace") {
            let known = GlobalsScript(String(decoding: globals, as: UTF8.self)).tablespaces
            fix =
                "the dump uses a tablespace the target lacks"
                + (known.isEmpty ? "" : " (the source had \(known.map { "\($0.name) at \($0.location)" }.joined(separator: ", ")))")
                + ": create it on the target (CREATE TABLESPACE … LOCATION …) first"
        }
        return LifeboatError(.operationFailed, "pg_restore failed (exit \(code)); nothing was committed: \(text)", fix: fix)
    }

    /// The recorded tables (`schema.table`) that `--table` and `--schema` select (all without
    /// them); selectors that match none of them are exit 2 before anything is restored.
    static func selectedTables(_ component: Manifest.Component, options: RestoreOptions) throws -> [String] {
        guard let recorded = PostgresMetadata(component).tableRowEstimates else { return [] }
        let all = recorded.keys.sorted()
        guard !options.tables.isEmpty || !options.schemas.isEmpty else { return all }
        let chosen = all.filter { name in
            let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
            let (schema, table) = parts.count == 2 ? (parts[0], parts[1]) : ("public", name)
            return (options.tables.isEmpty || options.tables.contains(table)) && (options.schemas.isEmpty || options.schemas.contains(schema))
        }
        guard !chosen.isEmpty else {
            let what = (options.schemas.map { "--schema \($0)" } + options.tables.map { "--table \($0)" }).joined(separator: " ")
            throw LifeboatError(
                .invalidInput, "\(what) matches none of the \(all.count) tables of \(component.source)",
                fix:
                    "tables in the snapshot: \(all.prefix(8).joined(separator: ", "))\(all.count > 8 ? ", …" : "") (--table takes the name without its schema, as pg_restore -t)"
            )
        }
        return chosen
    }

    /// Every table the manifest recorded (of those selected) exists in the restored database.
    private func check(_ connection: PostgresConnection) throws -> [String] {
        guard let all = PostgresMetadata(component).tableRowEstimates else { return [] }
        let selected = Set(try Self.selectedTables(component, options: options))
        let recorded = all.filter { selected.contains($0.key) }
        let rows = try connection.query(
            """
            SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p')
            """)
        let present = Set(rows.compactMap { $0[0] })
        let missing = recorded.keys.filter { !present.contains($0) }.sorted()
        guard missing.isEmpty else {
            throw LifeboatError(
                .operationFailed,
                "the restored database lacks \(missing.count) of the snapshot's tables: \(missing.prefix(5).joined(separator: ", "))")
        }
        if recorded.count < all.count { return ["\(recorded.count) of the snapshot's \(all.count) tables restored (--table, --schema), all present"] }
        return ["\(recorded.count) tables present, as recorded at capture"]
    }
}

/// Writes a logical component's dump and globals as plain files into a directory.
struct DumpFiles {
    let component: Manifest.Component
    let directory: String
    let force: Bool

    /// A directory-format dump (`jobs: N`) is written as a directory `DATABASE.dir`.
    var isDirectoryDump: Bool { PostgresMetadata(component).isDirectoryDump }

    /// Writes both files under temporary names and renames them into place only once every
    /// entry and the stored file are proven, so a damaged snapshot leaves nothing behind.
    /// The files it writes, by the entry prefix they come from.
    var outputs: [(prefix: String, path: String)] {
        let database = PostgresMetadata(component).database ?? component.source
        let dumpName = (database.isEmpty || database.contains("/") ? component.source : database) + (isDirectoryDump ? ".dir" : ".dump")
        return [
            (prefix: isDirectoryDump ? DumpDirectory.prefix : LogicalDump.dumpPrefix, path: "\(directory)/\(dumpName)"),
            (prefix: LogicalDump.globalsPrefix, path: "\(directory)/globals.sql"),
        ]
    }

    /// Refuses files that exist unless `force`; true when one would be replaced.
    func preflight() throws -> Bool {
        let existing = outputs.filter { FileIO.exists($0.path) }
        if let first = existing.first, !force {
            throw LifeboatError(.invalidInput, "\(first.path) exists", fix: "choose another --to directory, or add --force to replace it")
        }
        return !existing.isEmpty
    }

    func write(reader: ComponentReader) throws -> RestoreOutcome {
        _ = try preflight()
        try FileIO.makeDirectory(directory, mode: 0o700)
        let outputs = self.outputs
        let dumpName = (outputs[0].path as NSString).lastPathComponent
        var fds: [String: (fd: Int32, temp: String)] = [:]
        defer { for output in fds.values { close(output.fd) } }
        // A directory-format dump's files go into a directory beside the target, renamed at the end.
        let dumpDirectory = isDirectoryDump ? try DumpDirectory(in: directory, label: "partial") : nil
        do {
            for output in outputs where !(isDirectoryDump && output.prefix == DumpDirectory.prefix) {
                let temp = "\(directory)/.\((output.path as NSString).lastPathComponent).\(Hex.random(bytes: 4)).partial"
                let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw LifeboatError.system("cannot create", path: temp) }
                fds[output.prefix] = (fd, temp)
            }
            var bytes: Int64 = 0
            var written = 0
            while let entry = try reader.next() {
                if let dumpDirectory, let name = DumpDirectory.fileName(of: entry.record.path) {
                    try dumpDirectory.write(name, from: reader)
                } else if let output = outputs.first(where: { SegmentedStream.isPart(entry.record.path, prefix: $0.prefix) }),
                    let file = fds[output.prefix]
                {
                    try reader.readData { try FileIO.writeAll(file.fd, $0, path: file.temp) }
                } else {
                    continue
                }
                bytes += entry.record.size
                written += 1
            }
            for output in outputs {
                if let dumpDirectory, output.prefix == DumpDirectory.prefix {
                    try dumpDirectory.syncFiles()
                    if force && FileIO.exists(output.path) { try FileManager.default.removeItem(atPath: output.path) }
                    try FileIO.rename(dumpDirectory.path, output.path)
                    continue
                }
                let file = fds[output.prefix]!
                try FileIO.sync(file.fd, path: file.temp)
                try FileIO.rename(file.temp, output.path)
            }
            try FileIO.syncDirectory(directory)
            let how =
                isDirectoryDump
                ? "pg_restore --jobs \(PostgresMetadata(component).jobs ?? 1) --dbname NAME \(dumpName)" : "pg_restore --dbname NAME \(dumpName)"
            return RestoreOutcome(
                target: directory, entries: written, bytes: bytes,
                checks: ["wrote \(dumpName) and globals.sql; restore with \(how)"])
        } catch {
            for file in fds.values { unlink(file.temp) }
            throw error
        }
    }
}
