/// Speechmatics' most frequent message, read without the JSON parser: the `AudioAdded`
/// acknowledgement that follows every audio chunk (`{"message":"AudioAdded","seq_no":k}`, 20 a
/// second at 50 ms chunks). The transcriber reads it on the event loop's thread, through
/// `Speechmatics`'s acknowledgement scanner.
///
/// It reads exactly an object with those two members, in either order, with optional JSON
/// whitespace, and `seq_no` a non-negative integer of at most 15 digits. Anything else (another
/// member, an escape, a fraction, a duplicate) returns `nil` and reaches the decoder, whose JSON
/// parser gives the same answer for what this accepts.
package enum SpeechmaticsAcknowledgement {
    /// The `seq_no` of an `AudioAdded` message (UTF-8 bytes) in exactly the plain form, or `nil`.
    package static func sequenceNumber(in bytes: Span<UInt8>) -> Int? {
        var scanner = Scanner()
        return scanner.audioAdded(bytes)
    }

    /// The scanner's position in the bytes it is given.
    private struct Scanner {
        static let message = Array(#""message""#.utf8)
        static let audioAddedValue = Array(#""AudioAdded""#.utf8)
        static let sequenceNumberKey = Array(#""seq_no""#.utf8)

        var index = 0

        mutating func audioAdded(_ bytes: Span<UInt8>) -> Int? {
            guard take(bytes, UInt8(ascii: "{")) else { return nil }
            var sawMessage = false
            var sequence: Int?
            for member in 0..<2 {
                if member == 1 && !take(bytes, UInt8(ascii: ",")) { return nil }
                if !sawMessage && take(bytes, Self.message) {
                    guard take(bytes, UInt8(ascii: ":")), take(bytes, Self.audioAddedValue) else { return nil }
                    sawMessage = true
                } else if sequence == nil && take(bytes, Self.sequenceNumberKey) {
                    guard take(bytes, UInt8(ascii: ":")), let number = integer(bytes) else { return nil }
                    sequence = number
                } else {
                    return nil
                }
            }
            guard take(bytes, UInt8(ascii: "}")) else { return nil }
            skipWhitespace(bytes)
            return index == bytes.count ? sequence : nil
        }

        /// Skips whitespace, then takes `byte` if it is next.
        mutating func take(_ bytes: Span<UInt8>, _ byte: UInt8) -> Bool {
            skipWhitespace(bytes)
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// Skips whitespace, then takes `literal` if it is next.
        mutating func take(_ bytes: Span<UInt8>, _ literal: [UInt8]) -> Bool {
            skipWhitespace(bytes)
            let count = literal.count
            guard bytes.count - index >= count else { return false }
            for offset in 0..<count where bytes[index + offset] != literal[offset] { return false }
            index += count
            return true
        }

        /// A non-negative integer without sign, fraction, exponent or leading zero.
        mutating func integer(_ bytes: Span<UInt8>) -> Int? {
            skipWhitespace(bytes)
            var value = 0
            var digits = 0
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                if digits == 1 && value == 0 { return nil }  // leading zero: not JSON
                value = value * 10 + Int(bytes[index] - UInt8(ascii: "0"))
                digits += 1
                index += 1
                if digits > 15 { return nil }
            }
            guard digits > 0 else { return nil }
            if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) {
                return nil
            }
            return value
        }

        mutating func skipWhitespace(_ bytes: Span<UInt8>) {
            while index < bytes.count,
                bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09
            {
                index += 1
            }
        }
    }
}
