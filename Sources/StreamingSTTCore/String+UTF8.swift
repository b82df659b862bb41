extension String {
    /// The text of the UTF-8 `bytes`; an invalid sequence becomes U+FFFD, as
    /// `String(decoding:as:)` makes it.
    init(utf8 bytes: Span<UInt8>) {
        if let text = try? UTF8Span(validating: bytes) {
            self.init(copying: text)
            return
        }
        var copy: [UInt8] = []
        copy.reserveCapacity(bytes.count)
        for index in bytes.indices { copy.append(bytes[index]) }
        self.init(decoding: copy, as: UTF8.self)
    }
}
