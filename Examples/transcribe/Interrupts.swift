import Dispatch
import Foundation

/// Ctrl-C handling: the first SIGINT (or SIGTERM) asks for a graceful stop; the second exits at
/// once with status 130.
final class Interrupts: @unchecked Sendable {
    // @unchecked: `count` is only touched on `queue`.
    private let queue = DispatchQueue(label: "transcribe.signals")
    private var sources: [any DispatchSourceSignal] = []
    private var count = 0
    private let onFirst: @Sendable () -> Void
    private let announcement: String?

    /// `announcement` is printed on the first signal (`nil`: nothing).
    init(
        announcement: String? = "\ntranscribe: stopping (the remaining finals follow); press Ctrl-C again to abort.",
        onFirst: @escaping @Sendable () -> Void
    ) {
        self.announcement = announcement
        self.onFirst = onFirst
    }

    func install() {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            // Signals that arrive close together are coalesced: `data` says how many came.
            source.setEventHandler { [weak self, source] in self?.received(times: Int(source.data)) }
            source.resume()
            sources.append(source)
        }
    }

    func uninstall() {
        for source in sources { source.cancel() }
        sources.removeAll()
    }

    private func received(times: Int) {
        let first = count == 0
        count += max(1, times)
        if first {
            if let announcement { printError(announcement) }
            onFirst()
        }
        if count >= 2 {
            printError("\ntranscribe: aborted.")
            exit(130)
        }
    }
}
