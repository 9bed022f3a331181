import Foundation
import Testing

@testable import LifeboatCore

/// AWS's published Signature Version 4 test vectors (aws-sig-v4-test-suite: credentials
/// AKIDEXAMPLE, 2015-08-30T12:36:00Z, us-east-1, service "service"), and the S3 documentation's
/// GET-object example, which signs x-amz-content-sha256 and a Range header as S3 requires.
@Suite struct SigV4Tests {
    let suite = SigV4(
        credentials: .init(accessKey: "AKIDEXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "service")
    let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)  // 20150830T123600Z
    let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    let scope = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"

    @Test func timestampFormat() {
        #expect(SigV4.timestamp(suiteDate) == "20150830T123600Z")
    }

    @Test func getVanilla() {
        let signed = suite.sign(
            method: "GET", path: "/", query: [],
            headers: ["Host": "example.amazonaws.com", "X-Amz-Date": "20150830T123600Z"],
            payloadHash: emptyHash, date: suiteDate)
        #expect(signed.canonicalRequest == "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)")
        #expect(
            signed.stringToSign
                == "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
        )
        #expect(
            signed.authorization
                == "\(scope), SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    @Test func getVanillaQueryOrderKeyCase() {
        let signed = suite.sign(
            method: "GET", path: "/", query: [("Param2", "value2"), ("Param1", "value1")],
            headers: ["host": "example.amazonaws.com", "x-amz-date": "20150830T123600Z"],
            payloadHash: emptyHash, date: suiteDate)
        #expect(signed.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)[2] == "Param1=value1&Param2=value2")
        #expect(SHA256Hasher.hex(of: Array(signed.canonicalRequest.utf8)) == "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0")
        #expect(signed.signature == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
    }

    @Test func getVanillaQueryOrderValue() {
        let signed = suite.sign(
            method: "GET", path: "/", query: [("Param1", "value2"), ("Param1", "value1")],
            headers: ["host": "example.amazonaws.com", "x-amz-date": "20150830T123600Z"],
            payloadHash: emptyHash, date: suiteDate)
        #expect(signed.signature == "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694")
    }

    @Test func getUnreserved() {
        let path = SigV4.encodePath("/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        let signed = suite.sign(
            method: "GET", path: path, query: [],
            headers: ["host": "example.amazonaws.com", "x-amz-date": "20150830T123600Z"],
            payloadHash: emptyHash, date: suiteDate)
        #expect(signed.signature == "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f")
    }

    @Test func postXWWWFormURLEncoded() {
        let body = Array("Param1=value1".utf8)
        let signed = suite.sign(
            method: "POST", path: "/", query: [],
            headers: [
                "Content-Type": "application/x-www-form-urlencoded", "host": "example.amazonaws.com",
                "x-amz-date": "20150830T123600Z",
            ],
            payloadHash: SHA256Hasher.hex(of: body), date: suiteDate)
        #expect(SHA256Hasher.hex(of: body) == "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e")
        #expect(signed.stringToSign.hasSuffix("\n42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281"))
        #expect(
            signed.authorization
                == "\(scope), SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a")
    }

    /// docs.aws.amazon.com, "Signature Calculations for the Authorization Header", GET Object.
    @Test func s3GetObjectExample() {
        let s3 = SigV4(
            credentials: .init(accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1", service: "s3")
        let date = Date(timeIntervalSince1970: 1_369_353_600)  // 20130524T000000Z
        var headers = s3.headers(host: "examplebucket.s3.amazonaws.com", payloadHash: emptyHash, date: date)
        headers["range"] = "bytes=0-9"
        let signed = s3.sign(
            method: "GET", path: SigV4.encodePath("/test.txt"), query: [], headers: headers,
            payloadHash: emptyHash, date: date)
        #expect(signed.stringToSign.hasSuffix("\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"))
        #expect(signed.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func queryValuesAreEncodedOnceAndKeysKeepTheirSlashes() {
        #expect(SigV4.encode("dir/") == "dir%2F")
        #expect(SigV4.encode("a b+c") == "a%20b%2Bc")
        #expect(SigV4.encodePath("/bucket/data/ünï code.tar") == "/bucket/data/%C3%BCn%C3%AF%20code.tar")
    }
}
