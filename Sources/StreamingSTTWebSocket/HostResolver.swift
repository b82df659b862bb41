import StreamingSTTSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Turns a host name into the numeric addresses to connect to, within a deadline.
///
/// libwebsockets 4.1 on Debian is built without its asynchronous resolver, so a name given to it
/// would be resolved with a blocking `getaddrinfo` on the one service thread, stalling every
/// connection. We resolve first and hand libwebsockets numeric addresses, one per attempt.
///
/// Guarantees:
/// - ``resolve(_:deadline:)`` returns by its deadline (or at once when the task is cancelled)
///   even when the lookup hangs: the caller is resumed by whichever comes first, and a lookup that
///   answers later has its answer discarded.
/// - At most `maxConcurrentLookups` threads are blocked in lookups at a time; further lookups
///   wait in a queue (still bound by their deadlines) and are skipped when their caller has gone.
/// - The addresses come back interleaved by family (RFC 8305 section 4), starting with the family of
///   the lookup's first answer.
package struct HostResolver: Sendable {
    /// Looks a name up, blocking its thread: numeric addresses in the order `getaddrinfo` gives
    /// them, or a `dnsFailure`.
    package typealias Lookup = @Sendable (_ host: String) -> Result<[String], WebSocketError>

    private let lookup: Lookup
    private let pool: LookupPool

    /// A resolver running `lookup` on at most `maxConcurrentLookups` threads of its own.
    package init(maxConcurrentLookups: Int = 4, lookup: @escaping Lookup) {
        self.lookup = lookup
        self.pool = LookupPool(maxThreads: max(1, maxConcurrentLookups))
    }

    /// `getaddrinfo`, at most 4 lookups at a time for the whole process.
    package static let system = HostResolver(maxConcurrentLookups: 4, lookup: systemLookup)

    /// Returns `host` when it is already a numeric IPv4/IPv6 address.
    package static func numericAddress(_ host: String) -> String? {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1 { return host }
        return nil
    }

    /// The addresses of `host` to try in turn, by `deadline`.
    ///
    /// A numeric host is returned as it is, without a lookup.
    /// - Throws: ``WebSocketError``: `dnsFailure`; `connectTimeout` when the deadline passes
    ///   first; `cancelled` when the task is cancelled.
    package func resolve(_ host: String, deadline: ContinuousClock.Instant) async throws(WebSocketError) -> [String] {
        if let numeric = Self.numericAddress(host) { return [numeric] }
        let pending = PendingLookup()
        let lookup = self.lookup
        let result = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do { try await Task.sleep(until: deadline, clock: .continuous) } catch { return }
                pending.finish(.failure(WebSocketError(.connectTimeout, detail: "name resolution timed out")))
            }
            pool.submit {
                // Skipped when the caller has gone already (deadline or cancellation).
                guard !pending.isFinished else { return }
                pending.finish(lookup(host))
            }
            let result = await withTaskCancellationHandler {
                await pending.result()
            } onCancel: {
                pending.finish(.failure(WebSocketError(.cancelled)))
            }
            group.cancelAll()
            return result
        }
        if Task.isCancelled { throw WebSocketError(.cancelled) }
        let addresses = try result.get()
        guard !addresses.isEmpty else { throw WebSocketError(.dnsFailure, detail: "no usable address") }
        return Self.interleaved(addresses)
    }

    /// Removes duplicates and alternates the families, starting with the first address's
    /// (RFC 8305 section 4: `[v6a, v6b, v4a, v4b]` becomes `[v6a, v4a, v6b, v4b]`).
    package static func interleaved(_ addresses: [String]) -> [String] {
        var seen = Set<String>()
        let unique = addresses.filter { seen.insert($0).inserted }
        guard let first = unique.first else { return [] }
        let firstIsV6 = first.contains(":")
        let preferred = unique.filter { $0.contains(":") == firstIsV6 }
        let other = unique.filter { $0.contains(":") != firstIsV6 }
        var result: [String] = []
        result.reserveCapacity(unique.count)
        for index in 0..<max(preferred.count, other.count) {
            if index < preferred.count { result.append(preferred[index]) }
            if index < other.count { result.append(other[index]) }
        }
        return result
    }

    // MARK: - getaddrinfo

    private static func systemLookup(_ host: String) -> Result<[String], WebSocketError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let list else {
            let text = String(cString: gai_strerror(status))
            return .failure(WebSocketError(.dnsFailure, detail: text))
        }
        defer { freeaddrinfo(list) }
        var addresses: [String] = []
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let current = entry {
            if let text = numericText(current.pointee) { addresses.append(text) }
            entry = current.pointee.ai_next
        }
        if addresses.isEmpty { return .failure(WebSocketError(.dnsFailure, detail: "no usable address")) }
        return .success(addresses)
    }

    private static func numericText(_ info: addrinfo) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let length = socklen_t(buffer.count)
        switch info.ai_family {
        case AF_INET:
            return info.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                var raw = address.pointee.sin_addr
                guard inet_ntop(AF_INET, &raw, &buffer, length) != nil else { return nil }
                return cStringText(buffer)
            }
        case AF_INET6:
            return info.ai_addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                var raw = address.pointee.sin6_addr
                guard inet_ntop(AF_INET6, &raw, &buffer, length) != nil else { return nil }
                return cStringText(buffer)
            }
        default:
            return nil
        }
    }
}

/// One lookup's outcome, delivered once: the first of the answer, the deadline and cancellation
/// wins; later ones are discarded.
private final class PendingLookup: Sendable {
    private struct State {
        var result: Result<[String], WebSocketError>?
        var waiter: CheckedContinuation<Result<[String], WebSocketError>, Never>?
    }

    private let state = LockedState(State())

    var isFinished: Bool { state.withLock { $0.result != nil } }

    /// Records `result` unless there is one already, and resumes the waiter with it.
    func finish(_ result: Result<[String], WebSocketError>) {
        let waiter = state.withLock { state -> CheckedContinuation<Result<[String], WebSocketError>, Never>? in
            guard state.result == nil else { return nil }
            state.result = result
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: result)
    }

    /// Waits for the first result (one waiter only).
    func result() async -> Result<[String], WebSocketError> {
        await withCheckedContinuation { continuation in
            let result = state.withLock { state -> Result<[String], WebSocketError>? in
                if let result = state.result { return result }
                state.waiter = continuation
                return nil
            }
            if let result { continuation.resume(returning: result) }
        }
    }
}

/// Runs blocking jobs on at most `maxThreads` threads of its own, in order; a thread ends when the
/// queue is empty. Dispatch's global queues are not used because on Linux their width follows the
/// number of cores: lookups blocked there would hold back all other Dispatch work.
private final class LookupPool: Sendable {
    private struct State {
        var jobs = FIFO<@Sendable () -> Void>()
        var threads = 0
    }

    private let maxThreads: Int
    private let state = LockedState(State())

    init(maxThreads: Int) { self.maxThreads = maxThreads }

    func submit(_ job: @escaping @Sendable () -> Void) {
        let startsThread = state.withLock { state -> Bool in
            state.jobs.append(job)
            guard state.threads < maxThreads else { return false }
            state.threads += 1
            return true
        }
        if startsThread, !startThread() {
            // No thread to be had: the job waits for a thread started later, and its caller for its
            // deadline; the caller's own thread (one of the cooperative pool's) must not block.
            state.withLock { $0.threads -= 1 }
        }
    }

    /// Runs queued jobs until there are none; then the thread's slot is given back.
    private func runJobs() {
        while let job = state.withLock({ state -> (@Sendable () -> Void)? in
            if let job = state.jobs.popFirst() { return job }
            state.threads -= 1
            return nil
        }) {
            job()
        }
    }

    /// Starts a detached thread running ``runJobs()``; `false` when none could be created.
    private func startThread() -> Bool {
        let context = Unmanaged.passRetained(self).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        #if canImport(Darwin)
            var thread: pthread_t?
        #else
            var thread = pthread_t()
        #endif
        let status = pthread_create(
            &thread, &attributes,
            { argument in
                let raw: UnsafeMutableRawPointer? = argument
                Unmanaged<LookupPool>.fromOpaque(raw!).takeRetainedValue().runJobs()
                return nil
            }, context)
        guard status == 0 else {
            Unmanaged<LookupPool>.fromOpaque(context).release()
            return false
        }
        return true
    }
}
