import StreamingSTTSupport
import StreamingSTTWebSocket
import Testing

@Suite("Connection attempts over several addresses (RFC 8305 in spirit)")
struct WebSocketConnectionAttemptsTests {
    @Test("addresses alternate by family, starting with the first answer's, without duplicates")
    func interleaving() {
        #expect(
            HostResolver.interleaved([
                "2001:db8::1", "2001:db8::2", "192.0.2.1", "192.0.2.2", "192.0.2.3", "2001:db8::1",
            ])
                == ["2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.2", "192.0.2.3"])
        #expect(
            HostResolver.interleaved(["192.0.2.1", "192.0.2.2", "2001:db8::1"])
                == ["192.0.2.1", "2001:db8::1", "192.0.2.2"])
        #expect(HostResolver.interleaved([]) == [])
    }

    @Test("the system resolver finds localhost and does not look numeric hosts up")
    func systemResolver() async throws {
        let addresses = try await HostResolver.system.resolve("localhost", deadline: .now + .seconds(10))
        #expect(!addresses.isEmpty)
        #expect(addresses.allSatisfy { HostResolver.numericAddress($0) != nil })
        let numeric = try await HostResolver.system.resolve("::1", deadline: .now + .seconds(10))
        #expect(numeric == ["::1"])
    }

    @Test("a first address that hangs: the second starts after the attempt delay and wins; the first is cancelled")
    func hungFirstAddress() async throws {
        let log = LockedState<[String]>([])
        let clock = ContinuousClock()
        let start = clock.now
        let result = try await withTimeout {
            await ConnectionAttempts.race(addresses: ["hangs", "answers"], overlapping: true) { address, _ in
                log.withLock { $0.append("start \(address)") }
                if address == "answers" { return .success(address) }
                // Hangs until cancelled (a connect that never completes).
                let (never, continuation) = AsyncStream<Never>.makeStream()
                for await _ in never {}
                continuation.finish()
                log.withLock { $0.append("cancelled \(address)") }
                return .failure(WebSocketError(.cancelled))
            } discard: { _ in
            }
        }
        let elapsed = clock.now - start
        #expect(try result.get() == "answers")
        #expect(elapsed >= .milliseconds(200))
        #expect(log.withLock { $0 } == ["start hangs", "start answers", "cancelled hangs"])
    }

    @Test("an attempt that reaches its peer abandons the others, which end")
    func reachedPeerAbandonsOthers() async throws {
        let log = LockedState<[String]>([])
        let othersAbandoned = Promise<Void>()
        let result = try await withTimeout {
            await ConnectionAttempts.race(addresses: ["silent", "reaches"], overlapping: true) { address, control in
                log.withLock { $0.append("start \(address)") }
                if address == "reaches" {
                    control.reachedPeer()
                    await othersAbandoned.value  // hangs here if the race does not abandon "silent"
                    return .success(address)
                }
                // A connect that never completes, until abandoned.
                let (never, continuation) = AsyncStream<Never>.makeStream()
                control.onAbandon {
                    othersAbandoned.fulfill(())
                    continuation.finish()
                }
                for await _ in never {}
                log.withLock { $0.append("abandoned \(address)") }
                return .failure(WebSocketError(.cancelled))
            } discard: { _ in
            }
        }
        #expect(try result.get() == "reaches")
        #expect(Set(log.withLock { $0 }) == ["start silent", "start reaches", "abandoned silent"])
    }

    @Test("an attempt that reached its peer, then failed: its error ends the race, however late its reach is heard")
    func reachedPeerThenFailed() async throws {
        // The attempt reports reaching its peer just before it fails (its connect deadline, on a
        // loaded machine): whichever of the two the race hears first, no other address is tried and
        // the outcome is that attempt's error (once it was `cancelled`).
        for _ in 0..<200 {
            let started = LockedState<[String]>([])
            let result: Result<String, WebSocketError> = try await withTimeout {
                await ConnectionAttempts.race(
                    addresses: ["reaches", "other"], overlapping: true, attemptDelay: .milliseconds(500)
                ) { address, control in
                    started.withLock { $0.append(address) }
                    if address == "reaches" { control.reachedPeer() }
                    return .failure(WebSocketError(.connectTimeout))
                } discard: { _ in
                }
            }
            guard case .failure(let error) = result else { Issue.record("\(result)"); return }
            #expect(error.code == .connectTimeout)
            #expect(started.withLock { $0 } == ["reaches"])
            if error.code != .connectTimeout || started.withLock({ $0 }) != ["reaches"] { return }
        }
    }
}
