import Foundation

/// AWS Signature Version 4 for S3 requests (header-based). Checked against AWS's published
/// test vectors (Tests/LifeboatCoreTests/SigV4Tests.swift). S3 paths are encoded once, never
/// normalized; query parameters are percent-encoded and sorted by name, then value.
struct SigV4: Sendable {
    struct Credentials: Sendable {
        var accessKey: String
        var secretKey: String
        var sessionToken: String?
    }

    let credentials: Credentials
    let region: String
    let service: String

    /// The parts of one signature; `authorization` is the header value.
    struct Signed {
        var canonicalRequest: String
        var stringToSign: String
        var signature: String
        var authorization: String
    }

    /// Signs a request. `path` is already URI-encoded (`encodePath`); `headers` must include
    /// `host` and `x-amz-date` (added by `headers(for:)`); names are matched case-insensitively.
    func sign(
        method: String, path: String, query: [(String, String)], headers: [String: String],
        payloadHash: String, date: Date
    ) -> Signed {
        let stamp = Self.timestamp(date)
        let day = String(stamp.prefix(8))
        var canonicalHeaders: [(String, String)] = headers.map { name, value in
            (name.lowercased(), value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " "))
        }
        canonicalHeaders.sort { $0.0 < $1.0 }
        let signedHeaders = canonicalHeaders.map(\.0).joined(separator: ";")
        let encoded: [(String, String)] = query.map { (Self.encode($0.0), Self.encode($0.1)) }
        let sorted = encoded.sorted { a, b in a.0 != b.0 ? a.0 < b.0 : a.1 < b.1 }
        let canonicalQuery = sorted.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        let headerLines: String = canonicalHeaders.map { "\($0.0):\($0.1)\n" }.joined()
        let canonicalRequest = [method, path, canonicalQuery, headerLines, signedHeaders, payloadHash].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", stamp, scope, SHA256Hasher.hex(of: Array(canonicalRequest.utf8))].joined(separator: "\n")
        var key = HMACSHA256.mac(Array("AWS4\(credentials.secretKey)".utf8), Array(day.utf8))
        for part in [region, service, "aws4_request"] { key = HMACSHA256.mac(key, Array(part.utf8)) }
        let signature = Hex.encode(HMACSHA256.mac(key, Array(stringToSign.utf8)))
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKey)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return Signed(canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature, authorization: authorization)
    }

    /// The headers every signed S3 request carries, besides `authorization`.
    func headers(host: String, payloadHash: String, date: Date) -> [String: String] {
        var headers = ["host": host, "x-amz-date": Self.timestamp(date), "x-amz-content-sha256": payloadHash]
        if let token = credentials.sessionToken { headers["x-amz-security-token"] = token }
        return headers
    }

    static func timestamp(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(
            format: "%04d%02d%02dT%02d%02d%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    /// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters kept, the rest %XX.
    static func encode(_ text: String, keepSlash: Bool = false) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out += "/"
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// An object path encoded once, slashes kept.
    static func encodePath(_ path: String) -> String { encode(path, keepSlash: true) }
}
