import CCrypto
import Foundation

/// S3's `Content-MD5` header (base64 of the body's MD5), which a multi-object DELETE must carry.
/// MD5 here is an integrity check S3 asks for, not a security measure.
enum ContentMD5 {
    static func header(for bytes: [UInt8]) -> String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        bytes.withUnsafeBytes { raw in
            _ = EVP_Digest(raw.baseAddress, raw.count, &digest, &length, EVP_md5(), nil)
        }
        return Data(digest.prefix(Int(length))).base64EncodedString()
    }
}
