/// How a vendor wants audio cut into binary messages.
package struct AudioChunking: Sendable, Hashable {
    /// The last full chunk is held back until more audio arrives or the stream ends, so that a
    /// shorter tail is merged into it rather than sent alone (AssemblyAI: every message must hold
    /// 50–1000 ms).
    package var holdsBackLastChunk: Bool
    /// The shortest message, in seconds: a shorter last chunk (a whole stream shorter than this)
    /// is padded with silence to it. `nil` when any length goes.
    package var minimumDuration: Double?

    /// Creates chunking rules.
    package init(holdsBackLastChunk: Bool, minimumDuration: Double? = nil) {
        self.holdsBackLastChunk = holdsBackLastChunk
        self.minimumDuration = minimumDuration
    }

    /// `chunk` padded with silence to ``minimumDuration`` when it is shorter; otherwise as it is.
    package func padded(_ chunk: [UInt8], wire: WireAudio) -> [UInt8] {
        guard let minimumDuration else { return chunk }
        let minimum = wire.bytes(roundingUp: minimumDuration)
        guard chunk.count < minimum else { return chunk }
        return chunk + [UInt8](repeating: wire.silence, count: minimum - chunk.count)
    }
}
