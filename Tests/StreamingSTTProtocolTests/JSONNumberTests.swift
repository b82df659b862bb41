import Testing

@testable import StreamingSTTProtocol

/// The JSON parser's numbers are the correctly rounded doubles `Double(String)` gives, through its
/// fast path (small mantissa, no exponent) and its strtod path alike, bit for bit.
@Suite("JSON numbers")
struct JSONNumberTests {
    static let edgeCases = [
        "0", "-0", "0.0", "-0.0", "1", "-1", "0.1", "0.2", "0.3", "1.5", "0.05", "2.675", "123.456",
        "9007199254740992", "9007199254740993", "9007199254740991.5", "18446744073709551615",
        "18446744073709551616", "123456789012345678901234567890", "1.7976931348623157", "4.9e-324",
        "1e22", "1e23", "1E-7", "2.5e+3", "0.0000000000000000000001", "0.00000000000000000000001",
        "3.14159265358979323846264338327950288", "0.30000000000000004", "-12.000", "100000000000000000000000",
    ]

    func parsed(_ text: String) throws -> Double {
        guard case .number(let value) = try JSONValue(parsing: text) else {
            Issue.record("\(text) did not parse as a number")
            return .nan
        }
        return value
    }

    @Test("Edge cases match Double(String) bit for bit")
    func edgeCasesMatch() throws {
        for text in Self.edgeCases {
            let expected = try #require(Double(text))
            #expect(try parsed(text).bitPattern == expected.bitPattern, "\(text)")
        }
    }

    @Test("20 000 random decimals match Double(String) bit for bit")
    func randomDecimalsMatch() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            var text = Bool.random(using: &generator) ? "-" : ""
            let integerDigits = Int.random(in: 1...18, using: &generator)
            text += String(Int.random(in: 1...9, using: &generator))
            for _ in 1..<integerDigits { text += String(Int.random(in: 0...9, using: &generator)) }
            if Bool.random(using: &generator) { text = text.hasPrefix("-") ? "-0" : "0" }
            let fractionDigits = Int.random(in: 0...24, using: &generator)
            if fractionDigits > 0 {
                text += "."
                for _ in 0..<fractionDigits { text += String(Int.random(in: 0...9, using: &generator)) }
            }
            let expected = try #require(Double(text))
            #expect(try parsed(text).bitPattern == expected.bitPattern, "\(text)")
        }
    }

    @Test("Invalid numbers are still rejected")
    func invalidNumbers() {
        for text in ["01", "-", "1.", ".5", "1e", "+1", "1.e3", "--1", "0x10"] {
            #expect(throws: JSONParseError.self, "\(text)") { try JSONValue(parsing: text) }
        }
    }
}
