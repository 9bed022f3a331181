/// A path or link target exactly as the filesystem gives it: bytes, which need not be UTF-8.
/// `text` shows it (bytes that are not UTF-8 escaped as `\xHH`); `hex` carries the bytes when
/// `text` cannot, so names round-trip byte for byte through the manifest.
public struct EntryName: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]
    /// For people: the name, with invalid UTF-8 bytes escaped.
    public let text: String
    /// The bytes in hex when they are not valid UTF-8, else nil.
    public let hex: String?

    public init(bytes: [UInt8]) {
        self.bytes = bytes
        (text, hex) = Self.render(bytes)
    }

    public init(_ text: String) {
        bytes = Array(text.utf8)
        self.text = text
        hex = nil
    }

    /// The name a manifest records: `text`, or the bytes of `hex` when present.
    public init(text: String, hex: String?) {
        if let hex, let bytes = Hex.decode(hex) { self.init(bytes: bytes) } else { self.init(text) }
    }

    public var description: String { text }

    /// `self/child`, or `child` when `self` is empty.
    public func appending(_ child: [UInt8]) -> EntryName {
        EntryName(bytes: bytes.isEmpty ? child : bytes + [0x2f] + child)
    }

    /// Calls `body` with the bytes as a NUL-terminated C string.
    public func withCString<T>(_ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
        try Self.withCString(bytes, body)
    }

    public static func withCString<T>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
        try (bytes + [0]).withUnsafeBufferPointer { buffer in
            try buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { try body($0) }
        }
    }

    private static func render(_ bytes: [UInt8]) -> (String, String?) {
        var text = ""
        var valid = true
        var offset = 0
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                text.unicodeScalars.append(Unicode.UTF8.decode(encoded))
                offset += encoded.count
            case .error(let length):
                valid = false
                for byte in bytes[offset..<offset + length] { text += "\\x" + Hex.encode([byte]) }
                offset += length
            case .emptyInput:
                return (text, valid ? nil : Hex.encode(bytes))
            }
        }
    }
}
