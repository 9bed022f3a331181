/// A child's stdin fed a stream of known length as it is read, all but its last `heldBack`
/// bytes: `release` sends those only once the caller has proven every byte, so a program that
/// commits at end of input (pg_restore, a restore command) never sees the end of damaged data.
struct HeldBackInput {
    let child: RunningChild
    let total: Int64
    let heldBack: Int
    /// Bytes written to the child so far.
    private(set) var sent: Int64 = 0
    /// False once the child stopped reading (EPIPE); nothing more is written then.
    private(set) var open = true
    private var tail: [UInt8] = []

    init(child: RunningChild, total: Int64, heldBack: Int) {
        self.child = child
        self.total = total
        self.heldBack = heldBack
    }

    mutating func feed(_ bytes: UnsafeRawBufferPointer) throws {
        let now = min(max(0, Int(total - Int64(heldBack) - sent)), bytes.count)
        if now > 0 && open { open = try child.write(UnsafeRawBufferPointer(rebasing: bytes[0..<now])) }
        sent += Int64(now)
        if now < bytes.count { tail += bytes[now...] }
    }

    /// Everything is proven: the held-back end goes to the child.
    mutating func release() throws {
        if open { open = try tail.withUnsafeBytes { try child.write($0) } }
        sent += Int64(tail.count)
        tail = []
    }
}
