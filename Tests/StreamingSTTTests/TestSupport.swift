import Dispatch
import Foundation
import Logging
import StreamingSTT
import StreamingSTTSupport
import StreamingSTTTesting
import StreamingSTTWebSocket
import Testing

/// A test failed to see an event within its deadline.
struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Runs `body`, failing with `TimedOut` if it does not finish within `limit`.
func withTimeout<T: Sendable>(
    _ limit: Duration = .seconds(20),
    _ what: String = "the operation",
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw TimedOut(what: what) }
        return value
    }
}

/// Runs blocking work (creating or shutting down a libwebsockets context, generating keys) on a
/// Dispatch thread, so that it never holds one of the cooperative pool's few threads.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}

/// A one-shot value that tasks can await (a barrier instead of a sleep).
final class Promise<Value: Sendable>: Sendable {
    private let state = LockedState<(value: Value?, waiters: [CheckedContinuation<Value, Never>])>((nil, []))

    func fulfill(_ value: Value) {
        let waiters = state.withLock { state -> [CheckedContinuation<Value, Never>] in
            guard state.value == nil else { return [] }
            state.value = value
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: value) }
    }

    var value: Value {
        get async {
            await withCheckedContinuation { continuation in
                let value = state.withLock { state -> Value? in
                    if let value = state.value { return value }
                    state.waiters.append(continuation)
                    return nil
                }
                if let value { continuation.resume(returning: value) }
            }
        }
    }
}

/// Collects log entries in memory.
final class RecordingLogHandler: LogHandler, @unchecked Sendable {
    // @unchecked: all mutable state is behind `store`; `metadata`/`logLevel` are set only before use.
    let store: Store
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    final class Store: Sendable {
        let lines = LockedState<[String]>([])
        var all: [String] { lines.withLock { $0 } }
    }

    init(store: Store) { self.store = store }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        store.lines.withLock { $0.append("\(event.level) \(event.message) \(merged)") }
    }

    static func logger() -> (Logger, Store) {
        let store = Store()
        return (Logger(label: "test", factory: { _ in RecordingLogHandler(store: store) }), store)
    }
}

/// One certificate authority for the whole test run, for `localhost` and `127.0.0.1`.
let sharedAuthority: TestCertificateAuthority = {
    do {
        return try TestCertificateAuthority.generate(names: ["localhost", "127.0.0.1"])
    } catch {
        fatalError("\(error)")
    }
}()

/// A configuration that trusts the test authority.
func trusting(
    _ authority: TestCertificateAuthority, _ configure: (inout WebSocketConfiguration) -> Void = { _ in }
)
    -> WebSocketConfiguration
{
    var configuration = WebSocketConfiguration()
    configuration.tls.additionalTrustRoots = [.file(authority.caCertificatePath)]
    configure(&configuration)
    return configuration
}

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP socket on 127.0.0.1 that listens but never accepts: connects complete in the kernel,
/// then nothing answers (for connect-timeout tests). `close()` it when done.
struct SilentListener {
    let fd: Int32
    let port: Int

    init() throws {
        (fd, port) = try bindLoopbackSocket()
        guard listen(fd, 16) == 0 else { throw TimedOut(what: "a listening socket") }
    }

    func close() { _ = Glibc.close(fd) }
}

/// A TCP socket bound to 127.0.0.1 on a port the kernel picks, and that port.
func bindLoopbackSocket() throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard bound == 0 else { throw TimedOut(what: "a bound socket") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

/// A port on 127.0.0.1 where nothing listens, for as long as this value lives: a socket is bound
/// to it but never listens, so a connection is refused and no other socket (another test's
/// server binding port 0) can take the port meanwhile. A port that was merely free a moment ago
/// could be given to a server of a test running in parallel, which would then get the
/// "refused" connection. `close()` it when done.
struct ClosedPort {
    let fd: Int32
    let port: Int

    init() throws { (fd, port) = try bindLoopbackSocket() }

    func close() { _ = Glibc.close(fd) }
}

/// Threads in this process.
func threadCount() -> Int {
    directoryEntries("/proc/self/task")?.count ?? -1
}

/// The names in a directory, without `.` and `..`; nil if it cannot be read.
///
/// Read with FileManager, not `readdir`: a `dirent` is only as long as its name, so copying its
/// fixed-size `d_name` out in Swift reads past the end of the directory buffer once the
/// directory holds enough entries (AddressSanitizer stops the tests at about 1 350 open files).
func directoryEntries(_ path: String) -> [String]? {
    try? FileManager.default.contentsOfDirectory(atPath: path)
}

/// TCP sockets of this process connected to 127.0.0.1:`port`, and the server's ends of those, not
/// yet closed. Unlike a count of all file descriptors, other tests running in parallel do not
/// change it, nor do their sockets on another address with the same port number.
func openSockets(port: Int) -> Int {
    var inodes = Set<String>()
    for name in directoryEntries("/proc/self/fd") ?? [] {
        var target = [CChar](repeating: 0, count: 256)
        let length = readlink("/proc/self/fd/" + name, &target, target.count - 1)
        guard length > 0 else { continue }
        let text = String(decoding: target[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix("socket:[") { inodes.insert(String(text.dropFirst(8).dropLast())) }
    }
    // 127.0.0.1:port as /proc/net/tcp writes it (address bytes in host order, in hexadecimal).
    let endpoint = "0100007F:" + String(port, radix: 16, uppercase: true).leftPadded(to: 4)
    // Connections to the endpoint (their remote end is it), and the server's ends of those (their
    // local end is it and their remote end is one of those connections' local ends). Another
    // socket of the process with the same port number on another address is neither.
    var connections: [(local: Substring, remote: Substring)] = []
    if let text = readFile("/proc/net/tcp") {
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count > 9, fields[3] != "0A", inodes.contains(String(fields[9])) else { continue }
            connections.append((fields[1], fields[2]))
        }
    }
    let clients = Set(connections.filter { $0.remote == endpoint }.map(\.local))
    return connections.filter { $0.remote == endpoint || ($0.local == endpoint && clients.contains($0.remote)) }.count
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

extension WebSocketMessages.AsyncIterator {
    /// The next message, or the error that ended the sequence.
    mutating func outcome() async -> Result<WebSocketMessage?, WebSocketError> {
        do {
            return .success(try await next())
        } catch {
            return .failure(error)
        }
    }
}

/// The error `body` throws, or `nil`.
func failure(_ body: () async throws -> Void) async -> WebSocketError? {
    do {
        try await body()
        return nil
    } catch {
        return (error as? WebSocketError) ?? WebSocketError(.closed, detail: "unexpected \(error)")
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
