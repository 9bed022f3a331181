import Foundation

/// The one error type Lifeboat reports: a code that decides the exit status, a message a person
/// can act on, an optional fix, the input location that was wrong, and the underlying cause.
public struct LifeboatError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is; each code maps to exactly one exit status.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case operationFailed = "operation-failed"
            case invalidInput = "invalid-input"
            case integrity = "integrity"
            case objectiveMissed = "objective-missed"
            case locked = "locked"
            case interrupted = "interrupted"
            case terminated = "terminated"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The operation could not be carried out (I/O, a server, a child process).
        public static let operationFailed = Code(.operationFailed)
        /// Invalid usage, configuration or policy.
        public static let invalidInput = Code(.invalidInput)
        /// Stored data does not match what its manifest promises.
        public static let integrity = Code(.integrity)
        /// A drill ran but missed an objective.
        public static let objectiveMissed = Code(.objectiveMissed)
        /// The repository is locked by another process.
        public static let locked = Code(.locked)
        /// Stopped by SIGINT (Ctrl-C), after cleaning up.
        public static let interrupted = Code(.interrupted)
        /// Stopped by SIGTERM (a service manager), after cleaning up.
        public static let terminated = Code(.terminated)

        /// The process exit status for this code (DESIGN.md, "Contracts"; README, "Exit codes").
        public var exitCode: Int32 {
            switch base {
            case .operationFailed: return 1
            case .invalidInput: return 2
            case .integrity: return 3
            case .objectiveMissed: return 4
            case .locked: return 5
            case .interrupted: return 130
            case .terminated: return 143
            }
        }
        public var description: String { base.rawValue }
    }

    /// A place in an input file (policy, plan) that was wrong.
    public struct Location: Sendable, Equatable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var column: Int
        public init(file: String, line: Int, column: Int) {
            self.file = file
            self.line = line
            self.column = column
        }
        public var description: String { "\(file):\(line):\(column)" }
    }

    public var code: Code
    public var message: String
    public var fix: String?
    public var location: Location?
    public var underlying: String?
    /// A failure that may go away if the same request is tried again (a connection refused or
    /// reset, a timeout): the only kind `RetryPolicy` retries. A certificate that cannot be
    /// trusted, or a request the server refuses, is never transient.
    public var isTransient = false

    public init(_ code: Code, _ message: String, fix: String? = nil, location: Location? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.fix = fix
        self.location = location
        self.underlying = underlying.map(Self.describe)
    }

    /// A cause in words: Foundation's file errors become their path and errno's text, never a
    /// `NSCocoaErrorDomain Code=257` dump.
    static func describe(_ error: any Error) -> String {
        if let error = error as? LifeboatError { return error.message }
        let ns = error as NSError
        guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return String(describing: error) }
        let path = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
        var reason = ns.localizedFailureReason ?? ns.localizedDescription
        if let posix = ns.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            reason = String(cString: strerror(Int32(posix.code)))
        } else if ns.domain == NSPOSIXErrorDomain {
            reason = String(cString: strerror(Int32(ns.code)))
        }
        return path.map { "\($0): \(reason)" } ?? reason
    }

    public var description: String {
        var text = ""
        if let location { text += "\(location): " }
        text += message
        if let underlying { text += " (\(underlying))" }
        if let fix { text += "\n  fix: \(fix)" }
        return text
    }

    /// A transient `.operationFailed` error (see `isTransient`).
    public static func transient(_ message: String, fix: String? = nil) -> LifeboatError {
        var error = LifeboatError(.operationFailed, message, fix: fix)
        error.isTransient = true
        return error
    }

    /// An error from a failed system call, with errno's text.
    public static func system(_ what: String, path: String? = nil, errno code: Int32 = errno) -> LifeboatError {
        let reason = String(cString: strerror(code))
        let subject = path.map { "\(what) \($0)" } ?? what
        return LifeboatError(.operationFailed, "\(subject): \(reason)")
    }
}
