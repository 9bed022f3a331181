import Foundation

/// Posts a JSON summary to the policy's `notify.webhook` when a run fails. The body carries a
/// Slack-compatible `text` field plus the structured failures. Delivery problems are reported,
/// never fatal: the backup result stands on its own. Over the one HTTP client (http or https,
/// the system trust store), retried once more on a transient failure.
public enum WebhookNotifier {
    public struct Payload: Encodable, Sendable {
        public var text: String
        public var policy: String
        public var host: String
        public var failures: [RunReport.Outcome]
    }

    /// Sends `payload`; returns an error text, or nil on a 2xx answer.
    public static func send(_ payload: Payload, to url: String, timeout: TimeInterval = 10) async -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else {
            return "invalid webhook URL"
        }
        do {
            let origin = "\(scheme)://\(host)" + (components.port.map { ":\($0)" } ?? "")
            let client = try HTTPClient(url: origin, timeout: timeout, attempts: 2)
            let path =
                (components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath)
                + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
            let body = Array(try JSONEncoder().encode(payload))
            let response = try client.retry.run { _ -> RetryPolicy.Outcome<HTTPClient.Response> in
                let answer = try client.upload("POST", path, contentType: "application/json", contentLength: Int64(body.count)) { emit in
                    try body.withUnsafeBytes { try emit($0) }
                }
                return RetryPolicy.isTransient(status: answer.status) ? .transient(answer) : .done(answer)
            }
            return (200..<300).contains(response.status) ? nil : "webhook answered HTTP \(response.status)"
        } catch let error as LifeboatError {
            return "webhook failed: \(error.message)"
        } catch {
            return "webhook failed: \(error)"
        }
    }
}
