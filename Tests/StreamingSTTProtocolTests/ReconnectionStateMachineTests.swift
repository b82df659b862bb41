import Foundation
import Testing

@testable import StreamingSTTProtocol

/// The reconnection and rollover decisions, the replay ledger and the stream timeline, without
/// sockets or clocks: the cases the transcriber's fault and reconnection tests cover over sockets.
@Suite("Reconnection state machine")
struct ReconnectionStateMachineTests {
    static let policy = ReconnectionPolicy(
        maxAttempts: 3, initialDelay: .milliseconds(100), maxDelay: .seconds(1), jitter: 0.25,
        stableSessionDuration: .seconds(10), rolloverLeadTime: .seconds(30))
    static let lost = TranscriptionError(.connectionLost, provider: .assemblyAI, reason: "reset", isRetryable: true)
    let start = ContinuousClock.now

    @Test("backoff doubles up to the maximum, jitter stays within its fraction")
    func backoff() {
        let policy = ReconnectionPolicy(initialDelay: .milliseconds(100), maxDelay: .seconds(1), jitter: 0.25)
        #expect(policy.delay(beforeAttempt: 1, random: 0.5) == .milliseconds(100))
        #expect(policy.delay(beforeAttempt: 3, random: 0.5) == .milliseconds(400))
        #expect(policy.delay(beforeAttempt: 10, random: 0.5) == .seconds(1))
        #expect(policy.delay(beforeAttempt: 1, random: 0) == .milliseconds(75))
        #expect(policy.delay(beforeAttempt: 1, random: 1) == .milliseconds(125))
    }

    @Test("a retryable failure reconnects with backoff; a failure that is not retryable gives up at once")
    func firstDecision() {
        var machine = ReconnectionStateMachine(policy: Self.policy)
        #expect(
            machine.sessionLost(Self.lost, producedTranscript: true, startedAt: start, now: start, random: 0.5)
                == .reconnect(attempt: 1, delay: .milliseconds(100)))
        let refused = TranscriptionError(.authenticationFailed, provider: .assemblyAI, reason: "no")
        var other = ReconnectionStateMachine(policy: Self.policy)
        #expect(
            other.sessionLost(refused, producedTranscript: true, startedAt: start, now: start, random: 0.5)
                == .giveUp(refused))
    }

    @Test("503 at every attempt: gives up after the attempt budget, saying so")
    func attemptBudget() throws {
        var machine = ReconnectionStateMachine(policy: Self.policy)
        _ = machine.sessionLost(Self.lost, producedTranscript: true, startedAt: start, now: start, random: 0.5)
        let busy = TranscriptionError(.handshakeRejected, provider: .assemblyAI, reason: "503", isRetryable: true)
        #expect(machine.attemptFailed(busy, random: 0.5) == .reconnect(attempt: 2, delay: .milliseconds(200)))
        #expect(machine.attemptFailed(busy, random: 0.5) == .reconnect(attempt: 3, delay: .milliseconds(400)))
        guard case .giveUp(let error) = machine.attemptFailed(busy, random: 0.5) else {
            Issue.record("did not give up")
            return
        }
        #expect(error.code == .handshakeRejected)
        #expect(error.reason == "gave up after 3 attempts to reconnect: 503")
    }

    @Test("an attempt refused with 401 stops there")
    func refusedAttempt() {
        var machine = ReconnectionStateMachine(policy: Self.policy)
        _ = machine.sessionLost(Self.lost, producedTranscript: true, startedAt: start, now: start, random: 0.5)
        let refused = TranscriptionError(.authenticationFailed, provider: .assemblyAI, httpStatus: 401)
        #expect(machine.attemptFailed(refused, random: 0.5) == .giveUp(refused))
    }

    @Test("a service that accepts and at once closes is not retried forever; a healthy session resets the count")
    func healthySessions() {
        var machine = ReconnectionStateMachine(policy: Self.policy)
        // Sessions that start and fail at once, producing nothing: each counts as an attempt.
        for attempt in 1...3 {
            #expect(
                machine.sessionLost(Self.lost, producedTranscript: false, startedAt: start, now: start, random: 0.5)
                    == .reconnect(attempt: attempt, delay: Self.policy.delay(beforeAttempt: attempt, random: 0.5)))
        }
        guard
            case .giveUp = machine.sessionLost(
                Self.lost, producedTranscript: false, startedAt: start, now: start, random: 0.5)
        else {
            Issue.record("retried forever")
            return
        }
        // A session that produced a transcript, or stayed up for the stable duration, was healthy.
        var healthy = ReconnectionStateMachine(policy: Self.policy)
        for _ in 1...5 {
            #expect(
                healthy.sessionLost(Self.lost, producedTranscript: true, startedAt: start, now: start, random: 0.5)
                    == .reconnect(attempt: 1, delay: .milliseconds(100)))
        }
        var stable = ReconnectionStateMachine(policy: Self.policy)
        for _ in 1...5 {
            #expect(
                stable.sessionLost(
                    Self.lost, producedTranscript: false, startedAt: start, now: start + .seconds(10), random: 0.5)
                    == .reconnect(attempt: 1, delay: .milliseconds(100)))
        }
    }

    @Test("the vendor's retry interval is a floor (Speechmatics quota_exceeded: at least 5 s)")
    func minimumRetryDelay() {
        var quota = TranscriptionError(
            .vendorError, provider: .speechmatics, vendorCode: "quota_exceeded", isRetryable: true)
        quota.minimumRetryDelay = .seconds(5)
        var machine = ReconnectionStateMachine(policy: Self.policy)
        #expect(
            machine.sessionLost(quota, producedTranscript: true, startedAt: start, now: start, random: 0.5)
                == .reconnect(attempt: 1, delay: .seconds(5)))
    }

    @Test("rollover: before the vendor's limit, the policy's maximum or the service's expiry, whichever is first")
    func rolloverSchedule() {
        let machine = ReconnectionStateMachine(policy: Self.policy)
        let vendor = machine.rolloverSchedule(
            connectedAt: start, vendorLimit: .seconds(10_800), expiresIn: nil, now: start)
        #expect(vendor.limit == start + .seconds(10_800) && vendor.start == start + .seconds(10_770))
        let expiring = machine.rolloverSchedule(
            connectedAt: start, vendorLimit: .seconds(10_800), expiresIn: .seconds(600), now: start + .seconds(5))
        #expect(expiring.limit == start + .seconds(605) && expiring.start == start + .seconds(575))
        var capped = Self.policy
        capped.maximumSessionDuration = .seconds(120)
        let policyLimit = ReconnectionStateMachine(policy: capped).rolloverSchedule(
            connectedAt: start, vendorLimit: .seconds(48 * 3600), expiresIn: nil, now: start)
        #expect(policyLimit.limit == start + .seconds(120) && policyLimit.start == start + .seconds(90))
        // Already expired: the limit is now.
        let past = machine.rolloverSchedule(
            connectedAt: start, vendorLimit: .seconds(10_800), expiresIn: .seconds(-5), now: start + .seconds(1))
        #expect(past.limit == start + .seconds(1))
    }

    @Test("rollover attempts: the first at once, then backoff; retried while retryable and within the budget")
    func rolloverAttempts() {
        let machine = ReconnectionStateMachine(policy: Self.policy)
        #expect(machine.rolloverDelay(beforeAttempt: 1, random: 0.5) == .zero)
        #expect(machine.rolloverDelay(beforeAttempt: 2, random: 0.5) == .milliseconds(100))
        #expect(machine.rolloverDelay(beforeAttempt: 3, random: 0.5) == .milliseconds(200))
        #expect(machine.retriesRollover(after: Self.lost, attempt: 2))
        #expect(!machine.retriesRollover(after: Self.lost, attempt: 3))
        #expect(!machine.retriesRollover(after: TranscriptionError(.authenticationFailed), attempt: 1))
    }

    @Test("the audio moves to the next session at a turn boundary, or half the lead time before the limit")
    func switchDeadline() {
        let machine = ReconnectionStateMachine(policy: Self.policy)
        let limit = start + .seconds(100)
        #expect(machine.switchDeadline(limit: limit, now: start) == start + .seconds(85))
        #expect(machine.switchDeadline(limit: limit, now: start + .seconds(90)) == start + .seconds(90))
    }

    @Test("replayed audio runs at most the burst ahead of real time")
    func replayPace() {
        let machine = ReconnectionStateMachine(policy: Self.policy)  // burst 500 ms
        #expect(machine.replayDelay(audioSeconds: 0.5, elapsed: .zero) == .zero)
        #expect(machine.replayDelay(audioSeconds: 3, elapsed: .seconds(1)) == .milliseconds(1500))
        #expect(machine.replayDelay(audioSeconds: 3, elapsed: .seconds(4)) == .zero)
    }
}

@Suite("Audio ledger and stream timeline")
struct AudioLedgerTests {
    @Test("the backlog keeps what no final covers, within its capacity, and never drops unsent audio")
    func backlog() {
        var backlog = AudioBacklog(capacity: 300)
        for value in 0..<5 { backlog.append([UInt8](repeating: UInt8(value), count: 100)) }
        #expect(backlog.startPosition == 0 && backlog.endPosition == 500)
        // Nothing sent yet: nothing may go, however full.
        backlog.trim(finalizedUpTo: 0, droppableUpTo: 0)
        #expect(backlog.count == 500)
        // Sent up to 400: the oldest go until 300 remain.
        backlog.trim(finalizedUpTo: 0, droppableUpTo: 400)
        #expect(backlog.startPosition == 200 && backlog.count == 300)
        #expect(backlog.chunk(at: 300) == [UInt8](repeating: 3, count: 100))
        #expect(backlog.chunk(at: 150) == nil)
        // A final up to 350 covers the chunk that ends at 300 only.
        backlog.trim(finalizedUpTo: 350, droppableUpTo: 400)
        #expect(backlog.startPosition == 300)
        // During an outage everything may go: the newest 300 stay.
        for value in 5..<8 { backlog.append([UInt8](repeating: UInt8(value), count: 100)) }
        backlog.trim(finalizedUpTo: 0, droppableUpTo: .max)
        #expect(backlog.startPosition == 500 && backlog.endPosition == 800)
    }

    @Test("after an outage the new session gets the oldest kept audio; what did not fit is lost and counted")
    func resume() {
        var ledger = AudioLedger(replayCapacity: 300)
        for _ in 0..<3 { ledger.append([UInt8](repeating: 0, count: 100)) }
        ledger.finalized(upTo: 100)
        ledger.trim(unsentFrom: 300)
        #expect(ledger.oldestKeptPosition == 100)
        // The outage: five more chunks while no session receives audio.
        for _ in 0..<5 { ledger.append([UInt8](repeating: 1, count: 100)) }
        ledger.trim(unsentFrom: nil)
        let (start, lost) = ledger.resume()
        #expect(start == 500 && lost == 400)
        #expect(ledger.lostBytes == 400 && ledger.accountedPosition == 500)
        // Nothing more is lost when the next outage finds everything kept.
        #expect(ledger.resume() == (start: 500, lost: 0))
    }

    @Test(
        "a rollover's drained session covers its audio up to the handover; a failed drain loses what no final covered")
    func drains() {
        var ledger = AudioLedger(replayCapacity: nil)
        for _ in 0..<10 { ledger.append([UInt8](repeating: 0, count: 100)) }
        #expect(!ledger.keepsAudio && ledger.streamPosition == 1000)
        ledger.finalized(upTo: 300)
        ledger.drainFailed(sentUpTo: 800, handedOverAt: 600)
        #expect(ledger.lostBytes == 300)
        ledger.drained(sentUpTo: 800, handedOverAt: 700)
        #expect(ledger.finalizedPosition == 700)
    }

    @Test("events of later sessions: times from the stream's start, turn orders that keep going up")
    func timeline() {
        var timeline = StreamTimeline()
        func final(_ turn: Int, at start: Double) -> TranscriptEvent {
            .final(
                Transcript(
                    text: "t", start: start, end: start + 1,
                    words: [Word(text: "t", start: start, end: start + 1, confidence: 1)],
                    turnOrder: turn))
        }
        guard case .final(let first) = timeline.place(final(4, at: 2), session: 0, offset: 0),
            case .final(let second) = timeline.place(final(0, at: 1), session: 1, offset: 10),
            case .final(let again) = timeline.place(final(0, at: 3), session: 1, offset: 10),
            case .final(let third) = timeline.place(final(1, at: 5), session: 1, offset: 10)
        else {
            Issue.record("not finals")
            return
        }
        #expect(first.turnOrder == 4 && first.start == 2 && first.sessionIndex == 0)
        #expect(second.turnOrder == 5 && second.start == 11 && second.words[0].end == 12 && second.sessionIndex == 1)
        #expect(again.turnOrder == 5)
        #expect(third.turnOrder == 6)
        guard
            case .endOfUtterance(let mark) = timeline.place(
                .endOfUtterance(EndOfUtterance(time: 2)), session: 1, offset: 10)
        else { return }
        #expect(mark.time == 12)
    }
}
