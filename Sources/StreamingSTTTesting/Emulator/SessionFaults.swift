/// How one vendor spells the messages that the mid-session faults send.
struct VendorFaultMessages: Sendable {
    /// A truncated JSON text (`sendMalformedJSON`).
    let malformed: String
    /// A well-formed message of a type the vendor does not have (`sendUnknownMessage`).
    let unknown: EmulatorJSON
    /// The key that names a message's type (`type` or `message`), for `sendHugeFrame`.
    let discriminator: String
    /// The vendor's `Warning` with this text (`sendWarning`).
    let warning: @Sendable (String) -> EmulatorJSON
}

extension SessionIO {
    /// Applies the session's faults that are due after `count` audio chunks, in order.
    /// `vendorError` sends the vendor's own error and closes. Returns `true` when a fault
    /// ended the session.
    func applyFaults(
        afterChunks count: Int, messages: VendorFaultMessages, vendorError: () async -> Void
    ) async -> Bool {
        for fault in faults {
            switch fault {
            case .dropConnection(let n) where n == count:
                note("fault: dropConnection after \(count) chunks")
                drop()
                return true
            case .close(let code, let reason, let n) where n == count:
                note("fault: close(\(code)) after \(count) chunks")
                await close(code: code, reason: reason)
                return true
            case .sendMalformedJSON(let n) where n == count:
                note("fault: malformed JSON after \(count) chunks")
                await send(raw: messages.malformed)
            case .sendUnknownMessage(let n) where n == count:
                note("fault: unknown message after \(count) chunks")
                await send(messages.unknown)
            case .sendHugeFrame(let bytes, let n) where n == count:
                note("fault: huge frame of \(bytes) bytes after \(count) chunks")
                await send(raw: hugeFrame(bytes: bytes, discriminator: messages.discriminator))
            case .sendWarning(let text, let n) where n == count:
                note("fault: Warning of \(text.count) characters after \(count) chunks")
                await send(messages.warning(text))
            case .stopReading(let n) where n == count:
                note("fault: stop reading after \(count) chunks")
                connection.stopReading()
            case .stopReadingButKeepSending(let n) where n == count:
                note("fault: stop reading, keep sending after \(count) chunks")
                connection.stopReading()
                sendsWhileStalled.withLock { $0 = true }
            case .vendorError(let n) where n == count:
                note("fault: vendor error after \(count) chunks")
                await vendorError()
                return true
            default: break
            }
        }
        return false
    }

    /// The faults due at each tick: after ``EmulatorFault/stopReadingButKeepSending(afterAudioChunks:)``,
    /// one message of a type the vendor does not define.
    func applyTickFaults(messages: VendorFaultMessages) async {
        if sendsWhileStalled.withLock({ $0 }) { await send(messages.unknown) }
    }
}
