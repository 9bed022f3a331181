import Foundation

/// Capture by `BGSAVE` on a local server, then streaming the RDB file the child wrote.
struct RedisBgsave {
    let adapter: RedisAdapter
    let client: RESPClient

    /// Returns when the save the data reflects started (the fork).
    func capture(into writer: ArchiveWriter, validator: RDBCheck) throws -> Date {
        let deadline = Date().addingTimeInterval(adapter.timeout)
        var savesBefore = 0
        var forkedAt = Date()
        while true {
            let before = try RedisInfo.fetch(client, section: "persistence")
            guard let saves = before.int("rdb_saves") else {
                throw LifeboatError(.operationFailed, "redis \(client.endpoint): INFO persistence has no rdb_saves (Redis 7.0 or later is needed)")
            }
            savesBefore = Int(saves)
            forkedAt = Date()
            guard case .error(let message) = try client.call("BGSAVE") else { break }
            if message.contains("already in progress") {
                // An RDB child is running (another BGSAVE, or a replica's sync, which BGSAVE
                // SCHEDULE refuses too): its data predates our request, so wait for it to end
                // and ask again.
                guard Date() < deadline else {
                    throw LifeboatError(.operationFailed, "redis \(client.endpoint): a running save did not end within \(Int(adapter.timeout)) s")
                }
                while try RedisInfo.fetch(client, section: "persistence")["rdb_bgsave_in_progress"] == "1" && Date() < deadline { usleep(50_000) }
                continue
            }
            guard message.contains("Another child process is active") else {
                throw LifeboatError(.operationFailed, "redis \(client.endpoint): BGSAVE failed: \(message)")
            }
            try client.expect("BGSAVE", "SCHEDULE")  // an AOF rewrite runs: ours starts right after it
            break
        }
        while true {
            let info = try RedisInfo.fetch(client, section: "persistence")
            if info["rdb_bgsave_in_progress"] == "0", let saves = info.int("rdb_saves"), Int(saves) > savesBefore {
                guard info["rdb_last_bgsave_status"] == "ok" else {
                    throw LifeboatError(
                        .operationFailed,
                        "redis \(client.endpoint): BGSAVE failed (rdb_last_bgsave_status:\(info["rdb_last_bgsave_status"] ?? "?")); see the server log"
                    )
                }
                break
            }
            guard Date() < deadline else {
                throw LifeboatError(.operationFailed, "redis \(client.endpoint): BGSAVE did not finish within \(Int(adapter.timeout)) s")
            }
            usleep(50_000)
        }
        let path = try rdbPath()
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw LifeboatError.system("redis \(client.endpoint): cannot open the RDB", path: path)
        }
        defer { close(fd) }  // the open descriptor pins this save even if another replaces the file
        var st = stat()
        fstat(fd, &st)
        try writer.addStream(path: "dump.rdb", size: Int64(st.st_size), mode: 0o600, mtime: st.st_mtim) { push in
            try FileIO.forEachChunk(fd, path: path) { bytes in
                try validator.consume(bytes)
                try push(bytes)
            }
        }
        return forkedAt
    }

    /// `dir/dbfilename` from `CONFIG GET`, or from the policy's `config` file when CONFIG is renamed away.
    private func rdbPath() throws -> String {
        if case .array(let dir?) = try client.call("CONFIG", "GET", "dir"), dir.count == 2, let d = dir[1].text,
            case .array(let file?) = try client.call("CONFIG", "GET", "dbfilename"), file.count == 2, let f = file[1].text
        {
            return d + "/" + f
        }
        guard let config = adapter.config else {
            throw LifeboatError(
                .invalidInput, "redis \(client.endpoint): CONFIG GET is not allowed and the source has no `config:`",
                fix: "add `config: /etc/redis/redis.conf` to source \"\(adapter.name)\"")
        }
        return try RedisConfig(path: config).rdbPath
    }
}
