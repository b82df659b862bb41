import Dispatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Resolves host names off the libwebsockets service thread.
///
/// libwebsockets 4.1 on Debian is built without its asynchronous resolver, so a name given to it
/// would be resolved with a blocking `getaddrinfo` on the one service thread, stalling every
/// connection. We resolve first, on a Dispatch worker, and hand libwebsockets a numeric address.
enum HostResolver {
    /// Returns `host` when it is already a numeric IPv4/IPv6 address.
    static func numericAddress(_ host: String) -> String? {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1 { return host }
        return nil
    }

    /// Resolves `host` to a numeric address, preferring IPv4, within `timeout`.
    static func resolve(_ host: String, timeout: Duration) async throws(WebSocketError) -> String {
        if let numeric = numericAddress(host) { return numeric }
        let result: Result<String, WebSocketError> = await withTaskGroup(of: Result<String, WebSocketError>?.self) {
            group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    DispatchQueue.global().async { continuation.resume(returning: lookup(host)) }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                if Task.isCancelled { return nil }
                return .failure(WebSocketError(.connectTimeout, detail: "name resolution timed out"))
            }
            var outcome: Result<String, WebSocketError> = .failure(WebSocketError(.cancelled))
            if let first = await group.next(), let first { outcome = first }
            group.cancelAll()
            return outcome
        }
        if Task.isCancelled { throw WebSocketError(.cancelled) }
        return try result.get()
    }

    private static func lookup(_ host: String) -> Result<String, WebSocketError> {
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
        var best: String?
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let current = entry {
            if let text = numericText(current.pointee) {
                if current.pointee.ai_family == AF_INET { return .success(text) }
                best = best ?? text
            }
            entry = current.pointee.ai_next
        }
        if let best { return .success(best) }
        return .failure(WebSocketError(.dnsFailure, detail: "no usable address"))
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
