import Foundation

/// Capture over the replication protocol, as `redis-cli --rdb` does: `REPLCONF rdb-only 1`, then
/// `SYNC`; the server answers `$<length>` (disk-based) or `$EOF:<40-byte mark>` (diskless). A
/// diskless stream has no length up front, so it is spooled to the repository's scratch
/// directory first (tar headers need the size); a sized one streams straight into the archive.
struct RedisReplicaTransfer {
    let adapter: RedisAdapter

    func capture(into writer: ArchiveWriter, validator: RDBCheck, context: CaptureContext) throws -> Date {
        let client = try adapter.connect(timeout: adapter.timeout)
        _ = try client.call("REPLCONF", "rdb-only", "1")  // older servers refuse it; they send the RDB anyway
        let started = Date()
        try client.send(["SYNC"])
        var header: [UInt8] = []
        repeat { header = try client.readLine() } while header.isEmpty  // keep-alive newlines while the server prepares
        let text = String(decoding: header, as: UTF8.self)
        guard text.hasPrefix("$") else {
            throw LifeboatError(
                .operationFailed, "redis \(client.endpoint): SYNC refused: \(text)",
                fix: "the user needs +sync +psync +replconf +ping +info")
        }
        let now = timespec(tv_sec: Int(Date().timeIntervalSince1970), tv_nsec: 0)
        if text.hasPrefix("$EOF:") {
            let marker = Array(text.dropFirst(5).utf8)
            let spool = try ScratchSpool(directory: context.scratchDirectory, name: "redis-\(adapter.name).rdb")
            try client.read(untilMarker: marker) { bytes in
                try validator.consume(bytes)
                try spool.write(bytes)
            }
            try spool.store(into: writer, entry: "dump.rdb", mtime: now)
        } else {
            guard let size = Int64(text.dropFirst()) else {
                throw LifeboatError(.operationFailed, "redis \(client.endpoint): bad SYNC header \(text)")
            }
            try writer.addStream(path: "dump.rdb", size: size, mode: 0o600, mtime: now) { push in
                try client.read(Int(size)) { bytes in
                    try validator.consume(bytes)
                    try push(bytes)
                }
            }
        }
        return started
    }
}
