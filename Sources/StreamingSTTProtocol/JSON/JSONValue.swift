/// A JSON value, keeping object keys in their original order.
///
/// Vendor messages are parsed into this type before they are mapped to ``TranscriptEvent``s, so a
/// message the library does not model is still available in full (``RawMessage``).
package enum JSONValue: Sendable, Hashable, CustomStringConvertible {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number.
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object, its members in document order.
    case object([(key: String, value: JSONValue)])

    /// The member named `key` of an object, or `nil`.
    package subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The string, if this is one.
    package var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The number, if this is one.
    package var doubleValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The number as an integer, if this is an integral number.
    package var intValue: Int? {
        guard case .number(let value) = self, value.rounded() == value, abs(value) < 9.007e15 else { return nil }
        return Int(value)
    }

    /// The Boolean, if this is one.
    package var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The elements, if this is an array.
    package var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// Compact JSON text.
    package var description: String {
        var output = ""
        write(to: &output)
        return output
    }

    /// Appends compact JSON text to `output`.
    package func write(to output: inout String) {
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .number(let value): output += JSONValue.format(value)
        case .string(let value): JSONValue.writeString(value, to: &output)
        case .array(let elements):
            output += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { output += "," }
                element.write(to: &output)
            }
            output += "]"
        case .object(let members):
            output += "{"
            for (index, member) in members.enumerated() {
                if index > 0 { output += "," }
                JSONValue.writeString(member.key, to: &output)
                output += ":"
                member.value.write(to: &output)
            }
            output += "}"
        }
    }

    package static func format(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value.rounded() == value && abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    package static func writeString(_ value: String, to output: inout String) {
        output += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }

    /// Structural equality; object members must be in the same order.
    package static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    /// Hashes the JSON text.
    package func hash(into hasher: inout Hasher) {
        hasher.combine(description)
    }
}

extension JSONValue {
    /// Parses JSON text.
    /// - Throws: ``JSONParseError`` when the text is not valid JSON (RFC 8259).
    package init(parsing text: String) throws(JSONParseError) {
        var parser = JSONParser()
        self = try parser.parseDocument(text.utf8Span.span)
    }

    /// Parses JSON from UTF-8 bytes.
    package init(parsing bytes: [UInt8]) throws(JSONParseError) {
        var parser = JSONParser()
        self = try parser.parseDocument(bytes.span)
    }
}

/// Why a text is not valid JSON.
package struct JSONParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The byte offset where parsing failed.
    package var offset: Int
    /// What was wrong.
    package var reason: String

    /// `invalid JSON at byte N: reason`.
    package var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

/// A strict recursive-descent JSON parser (depth-limited) over the bytes it is given.
private struct JSONParser {
    var index = 0
    var depth = 0

    mutating func parseDocument(_ bytes: Span<UInt8>) throws(JSONParseError) -> JSONValue {
        skipWhitespace(bytes)
        let value = try parseValue(bytes)
        skipWhitespace(bytes)
        guard index == bytes.count else { throw fail("unexpected text after the value") }
        return value
    }

    func fail(_ reason: String) -> JSONParseError { JSONParseError(offset: index, reason: reason) }

    mutating func skipWhitespace(_ bytes: Span<UInt8>) {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func parseValue(_ bytes: Span<UInt8>) throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw fail("unexpected end") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(bytes)
        case UInt8(ascii: "["): return try parseArray(bytes)
        case UInt8(ascii: "\""): return .string(try parseString(bytes))
        case UInt8(ascii: "t"): return try parseLiteral(bytes, Self.trueLiteral, .bool(true))
        case UInt8(ascii: "f"): return try parseLiteral(bytes, Self.falseLiteral, .bool(false))
        case UInt8(ascii: "n"): return try parseLiteral(bytes, Self.nullLiteral, .null)
        default: return try parseNumber(bytes)
        }
    }

    mutating func parseLiteral(
        _ bytes: Span<UInt8>, _ word: [UInt8], _ value: JSONValue
    ) throws(JSONParseError) -> JSONValue {
        let count = word.count
        guard index + count <= bytes.count else { throw fail("invalid literal") }
        for offset in 0..<count where bytes[index + offset] != word[offset] {
            throw fail("invalid literal")
        }
        index += count
        return value
    }

    static let trueLiteral = Array("true".utf8)
    static let falseLiteral = Array("false".utf8)
    static let nullLiteral = Array("null".utf8)

    /// The UTF-8 text of `bytes[range]`.
    func text(_ bytes: Span<UInt8>, _ range: Range<Int>) throws(JSONParseError) -> String {
        do {
            return String(copying: try UTF8Span(validating: bytes.extracting(range)))
        } catch {
            throw JSONParseError(offset: range.lowerBound, reason: "invalid UTF-8")
        }
    }

    mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > 512 { throw fail("nesting too deep") }
    }

    mutating func parseObject(_ bytes: Span<UInt8>) throws(JSONParseError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var members: [(key: String, value: JSONValue)] = []
        skipWhitespace(bytes)
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace(bytes)
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a key") }
            let key = try parseString(bytes)
            skipWhitespace(bytes)
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            index += 1
            skipWhitespace(bytes)
            members.append((key, try parseValue(bytes)))
            skipWhitespace(bytes)
            guard index < bytes.count else { throw fail("unterminated object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
            index += 1
            return .object(members)
        }
    }

    mutating func parseArray(_ bytes: Span<UInt8>) throws(JSONParseError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace(bytes)
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace(bytes)
            elements.append(try parseValue(bytes))
            skipWhitespace(bytes)
            guard index < bytes.count else { throw fail("unterminated array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "]") else { throw fail("expected ',' or ']'") }
            index += 1
            return .array(elements)
        }
    }

    mutating func parseString(_ bytes: Span<UInt8>) throws(JSONParseError) -> String {
        index += 1
        var runStart = index
        var result = ""
        func flush(_ end: Int) throws(JSONParseError) {
            if end > runStart { result += try text(bytes, runStart..<end) }
        }
        while true {
            guard index < bytes.count else { throw fail("unterminated string") }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                try flush(index)
                index += 1
                return result
            }
            if byte < 0x20 { throw fail("control character in string") }
            if byte != UInt8(ascii: "\\") {
                index += 1
                continue
            }
            try flush(index)
            index += 1
            guard index < bytes.count else { throw fail("unterminated escape") }
            let escape = bytes[index]
            index += 1
            var piece = ""
            switch escape {
            case UInt8(ascii: "\""): piece = "\""
            case UInt8(ascii: "\\"): piece = "\\"
            case UInt8(ascii: "/"): piece = "/"
            case UInt8(ascii: "b"): piece = "\u{08}"
            case UInt8(ascii: "f"): piece = "\u{0C}"
            case UInt8(ascii: "n"): piece = "\n"
            case UInt8(ascii: "r"): piece = "\r"
            case UInt8(ascii: "t"): piece = "\t"
            case UInt8(ascii: "u"):
                var code = try parseHex4(bytes)
                if (0xD800...0xDBFF).contains(code) {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                        bytes[index + 1] == UInt8(ascii: "u")
                    else { throw fail("unpaired surrogate") }
                    index += 2
                    let low = try parseHex4(bytes)
                    guard (0xDC00...0xDFFF).contains(low) else { throw fail("invalid surrogate pair") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(code) {
                    throw fail("unpaired surrogate")
                }
                guard let scalar = Unicode.Scalar(code) else { throw fail("invalid code point") }
                piece = String(Character(scalar))
            default:
                throw fail("invalid escape")
            }
            result += piece
            runStart = index
        }
    }

    mutating func parseHex4(_ bytes: Span<UInt8>) throws(JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw fail("invalid hex digit")
            }
            value = value * 16 + digit
            index += 1
        }
        return value
    }

    /// Powers of ten that are exact doubles (10^0 … 10^22).
    static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
        1e19, 1e20, 1e21, 1e22,
    ]

    mutating func parseNumber(_ bytes: Span<UInt8>) throws(JSONParseError) -> JSONValue {
        let start = index
        let negative = index < bytes.count && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid value") }
        // The digits as an integer while it stays exact (≤ 2^53): with at most 22 fraction digits
        // and no exponent, mantissa / 10^digits is then the correctly rounded value (Clinger's fast
        // path: both operands are exact and IEEE division rounds correctly). Otherwise strtod.
        var mantissa: UInt64 = 0
        var exact = true
        var fractionDigits = 0
        func accumulate(_ byte: UInt8) {
            guard exact else { return }
            mantissa = mantissa * 10 + UInt64(byte - UInt8(ascii: "0"))
            if mantissa > 1 << 53 { exact = false }
        }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count, isDigit(bytes[index]) {
                accumulate(bytes[index])
                index += 1
            }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid fraction") }
            while index < bytes.count, isDigit(bytes[index]) {
                accumulate(bytes[index])
                fractionDigits += 1
                index += 1
            }
        }
        let hasExponent =
            index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E"))
        if !hasExponent && exact && fractionDigits < Self.exactPowersOfTen.count {
            let magnitude = Double(mantissa) / Self.exactPowersOfTen[fractionDigits]
            return .number(negative ? -magnitude : magnitude)
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid exponent") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        guard let value = Double(try text(bytes, start..<index)) else { throw fail("invalid number") }
        return .number(value)
    }

    func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
