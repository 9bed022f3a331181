import Foundation

/// Logical capture: `pg_dumpall --globals-only` (roles, tablespaces) as `globals/part-NNNNNN`,
/// then `pg_dump -Fc -Z0` (our pipeline compresses) streamed as parts `pg_dump/part-NNNNNN`:
/// globals first, so a restore into a fresh cluster creates the roles before pg_restore. With
/// `jobs: N`, `pg_dump -Fd -j N -Z0` dumps N tables at a time into a scratch directory instead,
/// stored as `pg_dump.dir/NAME` (`DumpDirectory`). The dump's snapshot is taken when pg_dump
/// starts (its workers share it), which is the recovery point. The manifest records the server
/// version, the database size and the planner's row estimate of every table.
struct LogicalDump {
    static let dumpPrefix = "pg_dump/part-"
    static let globalsPrefix = "globals/part-"

    let adapter: PostgresAdapter

    func capture(into writer: ArchiveWriter, context: CaptureContext) throws -> CaptureOutcome {
        let endpoint = adapter.endpoint
        let connection = try endpoint.connect(database: adapter.database)
        let major = connection.majorVersion
        let pgDump = try endpoint.tool("pg_dump", major: major)
        let pgDumpall = try endpoint.tool("pg_dumpall", major: major)
        var metadata = try PostgresFacts.collect(connection)
        metadata["mode"] = .string("logical")
        metadata["database"] = .string(adapter.database)
        metadata.merge(adapter.endpoint.metadata) { $1 }
        metadata["pg_dump_version"] = .string(PostgresEndpoint.versionLine(of: pgDump))
        let env = try endpoint.childEnvironment()
        let mtime = timespec(tv_sec: Int(context.started.timeIntervalSince1970), tv_nsec: 0)

        var warnings: [String] = []
        let globals = try RunningChild(
            [pgDumpall, "--globals-only"] + endpoint.connectionArguments
                + ["--database", adapter.database], environment: env)
        let globalsStored = try SegmentedStream.store(
            from: globals.output, source: "pg_dumpall", prefix: Self.globalsPrefix,
            into: writer, mtime: mtime)
        if try globals.wait() != 0 {
            warnings.append("pg_dumpall --globals-only failed, roles and tablespaces are not in this snapshot: \(globals.errorText)")
        } else {
            metadata["globals_bytes"] = .int(globalsStored.bytes)
        }

        let dumpStarted = Date()
        if let jobs = adapter.jobs {
            let directory = try DumpDirectory(in: context.scratchDirectory, label: "pg_dump")
            let target = directory.path + "/dump"  // pg_dump -Fd creates it
            context.progress.update("pg_dump of \(adapter.database): \(jobs) job\(jobs == 1 ? "" : "s")")
            let dump = try RunningChild(
                [pgDump, "--format=directory", "--compress=0", "--jobs=\(jobs)", "--file=\(target)"] + endpoint.connectionArguments
                    + ["--dbname", adapter.database], stdout: .null, environment: env)
            try dump.waitForSuccess()
            let stored = try DumpDirectory.store(target, into: writer, mtime: mtime)
            metadata["dump_format"] = .string("directory")
            metadata["jobs"] = .int(Int64(jobs))
            metadata["dump_bytes"] = .int(stored.bytes)
            metadata["dump_files"] = .int(Int64(stored.files))
            return CaptureOutcome(metadata: metadata, warnings: warnings, recoveryPoint: dumpStarted)
        }
        let dump = try RunningChild(
            [pgDump, "--format=custom", "--compress=0"] + endpoint.connectionArguments
                + ["--dbname", adapter.database], environment: env)
        let stored: (parts: Int, bytes: Int64)
        do {
            stored = try SegmentedStream.store(
                from: dump.output, source: "pg_dump", prefix: Self.dumpPrefix,
                into: writer, mtime: mtime)
        } catch {
            dump.terminate()
            throw error
        }
        try dump.waitForSuccess()
        metadata["dump_bytes"] = .int(stored.bytes)
        metadata["dump_parts"] = .int(Int64(stored.parts))

        return CaptureOutcome(metadata: metadata, warnings: warnings, recoveryPoint: dumpStarted)
    }
}

/// Facts about a server and database recorded in manifests.
enum PostgresFacts {
    static func collect(_ connection: PostgresConnection) throws -> [String: JSONValue] {
        var metadata: [String: JSONValue] = [
            "server_version": .string(try connection.value("SHOW server_version") ?? "unknown"),
            "server_version_num": .int(Int64(connection.serverVersion)),
            "server_major": .int(Int64(connection.majorVersion)),
            "database_size": .int(Int64(try connection.value("SELECT pg_database_size(current_database())") ?? "0") ?? 0),
        ]
        let rows = try connection.query(
            """
            SELECT n.nspname || '.' || c.relname, GREATEST(c.reltuples, 0)::bigint
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg_toast%'
            ORDER BY c.relpages DESC, 1 LIMIT 1000
            """)
        var tables: [String: JSONValue] = [:]
        for row in rows {
            if let name = row[0], let estimate = row[1].flatMap({ Int64($0) }) { tables[name] = .int(estimate) }
        }
        metadata["table_row_estimates"] = .object(tables)
        return metadata
    }
}
