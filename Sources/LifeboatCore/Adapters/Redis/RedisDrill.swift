import Foundation

/// A Redis source is drilled into a scratch server (`target.directory`, `target.port`) started
/// on the restored RDB; checks: `redis: keys`, `redis: digest`; failover drills read its
/// heartbeat key.
extension RedisAdapter: DrillHook {
    func validateDrillTarget(_ scratch: ScratchTarget) throws {
        _ = try requireDirectory(scratch)
        guard scratch.source.target.port != nil else {
            throw LifeboatError(.invalidInput, "drill source \"\(scratch.source.name)\" (redis) needs target.port for its scratch server")
        }
    }

    func drillRestore(_ scratch: ScratchTarget, component: Manifest.Component, repository: Repository, at: String?) throws -> (
        RestoreTarget, RestoreOptions
    ) {
        (.scratchServer(directory: try requireDirectory(scratch), port: scratch.source.target.port ?? 0), RestoreOptions())
    }

    func evaluate(_ check: DrillCheck, _ scratch: ScratchTarget, component: Manifest.Component) throws -> (passed: Bool, detail: String)? {
        let port = scratch.source.target.port ?? 0
        switch check {
        case .redisKeys:
            let keys = try RedisInfo.fetch(try RESPClient(host: "127.0.0.1", port: port)).keyspace.values.reduce(0, +)
            let recorded = RedisMetadata(component).keysTotal ?? -1
            return (keys == recorded, "\(keys) keys, the snapshot recorded \(recorded)")
        case .redisDigest(let expect):
            let restored = try RESPClient(host: "127.0.0.1", port: port).expect("DEBUG", "DIGEST").text ?? ""
            let wanted = try expect ?? (connect().expect("DEBUG", "DIGEST").text ?? "")
            return (restored == wanted, "restored \(restored), \(expect == nil ? "live" : "expected") \(wanted)")
        default:
            return nil
        }
    }

    func newestHeartbeat(_ scratch: ScratchTarget) -> Heartbeat? {
        (try? RESPClient(host: "127.0.0.1", port: scratch.source.target.port ?? 0)).flatMap { try? HeartbeatWriter.newest(in: $0) } ?? nil
    }

    func tearDown(_ scratch: ScratchTarget) {
        if let port = scratch.source.target.port { _ = try? RESPClient(host: "127.0.0.1", port: port, timeout: 5).call("SHUTDOWN", "NOSAVE") }
    }
}
