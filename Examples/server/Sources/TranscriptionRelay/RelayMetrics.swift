import CoreMetrics
import StreamingSTTCore

/// The relay's own metrics, recorded through swift-metrics with the factory the relay was given
/// (or the process's `MetricsSystem`): never a key, a token or a client's identity as a dimension.
///
/// - `stt_relay_sessions_total{provider}`: relayed sessions started (counter).
/// - `stt_relay_sessions_open`: sessions relaying now (gauge).
/// - `stt_relay_sessions_refused_total{reason}`: WebSocket sessions refused, by reason:
///   `unauthorized`, `forbidden_host`, `forbidden_origin`, `client_limit`, `total_limit`,
///   `session_rate`, `shutting_down` (counter).
struct RelayMetrics: Sendable {
    let factory: any MetricsFactory
    let openSessions: Meter

    init(factory: any MetricsFactory) {
        self.factory = factory
        openSessions = Meter(label: "stt_relay_sessions_open", factory: factory)
        // Present from the start (0), so a scrape before the first session shows the gauge.
        openSessions.set(0)
    }

    /// A session started with `provider`.
    func sessionStarted(_ provider: ProviderKind) {
        Counter(label: "stt_relay_sessions_total", dimensions: [("provider", provider.rawValue)], factory: factory)
            .increment()
    }

    /// The reason word of a limit's refusal.
    static func reason(_ reason: SessionLimiter.Refusal.Reason) -> String {
        switch reason {
        case .clientLimit: "client_limit"
        case .totalLimit: "total_limit"
        case .sessionRate: "session_rate"
        }
    }

    /// A session was refused for `reason` (one of a fixed set of words).
    func sessionRefused(_ reason: String) {
        Counter(label: "stt_relay_sessions_refused_total", dimensions: [("reason", reason)], factory: factory)
            .increment()
    }
}
