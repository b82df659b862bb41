import StreamingSTTAudio

#if canImport(Glibc)
    import Glibc
#endif

/// A bounded queue that carries buffers from a reader thread to one consuming task.
///
/// The producer is a dedicated thread that must never wait for Swift tasks, the consumer an
/// `async` iterator. When the queue is full the producer either drops the new buffer and counts
/// it (``Overflow/dropNewest``, for live capture: memory stays bounded and a slow consumer shows
/// as a gap in `startFrame`) or blocks until there is room (``Overflow/block``, for pipes, which
/// then apply back-pressure to their writer). ``stop()`` ends the stream from the consumer's side
/// and wakes a blocked producer.
final class AudioHandOff: @unchecked Sendable {
    // Justification for @unchecked: every stored `var` is touched only between
    // pthread_mutex_lock/unlock of `mutex`; `capacity` and `overflow` are immutable.

    /// What a full queue does with the next buffer.
    enum Overflow {
        case dropNewest
        case block
    }

    /// What happened to a pushed buffer.
    enum PushResult: Equatable {
        case queued
        case dropped
        case stopped
    }

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let roomAvailable = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let capacity: Int
    private let overflow: Overflow

    private var queue: [AudioBuffer] = []
    private var head = 0
    private var waiter: UnsafeContinuation<Result<AudioBuffer?, AudioError>, Never>?
    private var end: Result<Void, AudioError>?
    private var stopped = false
    private var dropped = 0
    private var iterating = false

    init(capacity: Int, overflow: Overflow) {
        self.capacity = max(1, capacity)
        self.overflow = overflow
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        roomAvailable.initialize(to: pthread_cond_t())
        pthread_cond_init(roomAvailable, nil)
    }

    deinit {
        pthread_cond_destroy(roomAvailable)
        pthread_mutex_destroy(mutex)
        roomAvailable.deallocate()
        mutex.deallocate()
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    // MARK: - Producer (reader thread)

    /// Hands a buffer to the consumer.
    func push(_ buffer: AudioBuffer) -> PushResult {
        pthread_mutex_lock(mutex)
        while true {
            if stopped || end != nil {
                pthread_mutex_unlock(mutex)
                return .stopped
            }
            // A waiting consumer means the queue is empty: hand over directly, in order.
            if let waiter {
                self.waiter = nil
                pthread_mutex_unlock(mutex)
                waiter.resume(returning: .success(buffer))
                return .queued
            }
            if queue.count - head < capacity {
                queue.append(buffer)
                pthread_mutex_unlock(mutex)
                return .queued
            }
            if overflow == .dropNewest {
                dropped += 1
                pthread_mutex_unlock(mutex)
                return .dropped
            }
            pthread_cond_wait(roomAvailable, mutex)
        }
    }

    /// Ends the stream after the queued buffers: `nil` at the end, or the error.
    func finish(_ result: Result<Void, AudioError>) {
        let waiter = locked { () -> UnsafeContinuation<Result<AudioBuffer?, AudioError>, Never>? in
            guard end == nil else { return nil }
            end = result
            defer { self.waiter = nil }
            return self.waiter
        }
        switch result {
        case .success: waiter?.resume(returning: .success(nil))
        case .failure(let error): waiter?.resume(returning: .failure(error))
        }
    }

    /// Whether the consumer has stopped the stream.
    var isStopped: Bool { locked { stopped } }

    /// Buffers dropped because the queue was full.
    var droppedBuffers: Int { locked { dropped } }

    // MARK: - Consumer

    /// Claims the stream for one iterator; false if another already did.
    func claim() -> Bool {
        locked {
            defer { iterating = true }
            return !iterating
        }
    }

    /// The next buffer, `nil` at the end, or the error that ended the stream.
    func next() async -> Result<AudioBuffer?, AudioError> {
        if let ready = take() { return ready }
        return await withUnsafeContinuation { continuation in
            pthread_mutex_lock(mutex)
            if let ready = takeLocked() {
                pthread_mutex_unlock(mutex)
                continuation.resume(returning: ready)
                return
            }
            if waiter != nil {
                pthread_mutex_unlock(mutex)
                continuation.resume(returning: .failure(AudioError(.concurrentIteration)))
                return
            }
            waiter = continuation
            pthread_mutex_unlock(mutex)
        }
    }

    private func take() -> Result<AudioBuffer?, AudioError>? {
        locked { takeLocked() }
    }

    private func takeLocked() -> Result<AudioBuffer?, AudioError>? {
        if head < queue.count {
            let buffer = queue[head]
            head += 1
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 64 && head * 2 >= queue.count {
                queue.removeFirst(head)
                head = 0
            }
            pthread_cond_signal(roomAvailable)
            return .success(buffer)
        }
        if stopped { return .success(nil) }
        switch end {
        case .success: return .success(nil)
        case .failure(let error): return .failure(error)
        case nil: return nil
        }
    }

    /// Ends the stream from the consumer's side: queued buffers are discarded, a waiting
    /// `next()` returns `result`, and the producer's next push returns ``PushResult/stopped``.
    func stop(resuming result: Result<AudioBuffer?, AudioError> = .success(nil)) {
        let waiter = locked { () -> UnsafeContinuation<Result<AudioBuffer?, AudioError>, Never>? in
            stopped = true
            queue.removeAll()
            head = 0
            pthread_cond_broadcast(roomAvailable)
            defer { self.waiter = nil }
            return self.waiter
        }
        waiter?.resume(returning: result)
    }
}
