import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Posts a JSON summary to the policy's `notify.webhook` when a run fails. The body carries a
/// Slack-compatible `text` field plus the structured failures. Delivery problems are reported,
/// never fatal: the backup result stands on its own.
public enum WebhookNotifier {
    public struct Payload: Encodable, Sendable {
        public var text: String
        public var policy: String
        public var host: String
        public var failures: [RunReport.Outcome]
    }

    /// Sends `payload`; returns an error text, or nil on a 2xx answer.
    public static func send(_ payload: Payload, to url: String, timeout: TimeInterval = 10) async -> String? {
        guard let endpoint = URL(string: url) else { return "invalid webhook URL" }
        var request = URLRequest(url: endpoint, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("lifeboat/\(LifeboatVersion.current)", forHTTPHeaderField: "User-Agent")
        do {
            request.httpBody = try JSONEncoder().encode(payload)
            let (_, response) = try await URLSession.shared.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            return (200..<300).contains(status) ? nil : "webhook answered HTTP \(status)"
        } catch {
            return "webhook failed: \(error.localizedDescription)"
        }
    }
}
