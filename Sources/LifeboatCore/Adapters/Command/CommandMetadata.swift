import Foundation

/// What a command component records: the programs' argv (never their environment's content),
/// the env_file's path and the deadline, so a restore without the policy runs the same programs.
struct CommandMetadata {
    var restore: [String]?
    var check: [String]?
    var envFile: String?
    var timeout: TimeInterval?

    init(_ component: Manifest.Component) {
        let m = component.metadata
        func argv(_ key: String) -> [String]? {
            guard case .array(let items)? = m[key] else { return nil }
            return items.compactMap(\.stringValue)
        }
        restore = argv("restore")
        check = argv("check")
        envFile = m["env_file"]?.stringValue
        timeout = m["timeout"]?.intValue.map { TimeInterval($0) }
    }

    /// The recorded argv of `role` (`restore`, `check`).
    func argv(_ role: String) -> [String]? { role == "restore" ? restore : role == "check" ? check : nil }
}
