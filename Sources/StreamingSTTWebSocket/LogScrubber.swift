import StreamingSTTSupport

/// Takes secrets out of a log line (libwebsockets' own lines, the detail of a connect failure).
///
/// Three passes, in order:
/// 1. The value of an `Authorization:` header, whatever it is, up to the end of the header
///    (a line break, a quote, `;` or `,`): `Authorization: <redacted>`.
/// 2. The value of a credential query parameter (`token`, `jwt`, `key`, `api_key`, `apikey`,
///    `access_token`), up to `&`, `#`, a space, a quote, `;` or `,`: `token=<redacted>`.
/// 3. The known secrets (each header value, the last word of one such as `Bearer <key>`, the
///    query and each query value), longest first: one of at least
///    ``minimumLengthReplacedAnywhere`` characters wherever it occurs; a shorter one only where it
///    stands alone, not touching a letter or a digit on either side. A three-character key
///    replaced inside every word would make the logs unreadable and tell where it occurs; a
///    short key standing alone, or in the header and query forms above, is still removed.
package struct LogScrubber: Sendable {
    /// Secrets this long or longer are replaced wherever they occur.
    package static let minimumLengthReplacedAnywhere = 8
    /// What takes a secret's place.
    package static let replacement = "<redacted>"
    /// Query parameters whose value is a credential.
    static let credentialParameters = ["token", "jwt", "key", "api_key", "apikey", "access_token"]

    /// The known secrets, longest first.
    private let secrets: [String]

    /// A scrubber for `secrets` (each header value and query value that may hold a credential).
    package init(secrets: some Sequence<String>) {
        var all = Set<String>()
        for secret in secrets where !secret.isEmpty {
            all.insert(secret)
            // `Bearer <key>`: the key alone too.
            if let word = secret.split(separator: " ").last, word.count < secret.count { all.insert(String(word)) }
        }
        self.secrets = all.sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
    }

    /// `line` without the secrets.
    package func scrub(_ line: String) -> String {
        var text = Self.redactAuthorizationValues(in: line)
        text = Self.redactCredentialParameters(in: text)
        for secret in secrets where text.contains(secret) {
            if secret.count >= Self.minimumLengthReplacedAnywhere {
                text = text.replacing(secret, with: Self.replacement)
            } else {
                text = Self.replaceStandalone(secret, in: text)
            }
        }
        return text
    }

    private static func isWordCharacter(_ character: Character) -> Bool {
        character.isLetter || character.isNumber
    }

    /// Replaces the occurrences of `secret` with no letter or digit right before or after them.
    private static func replaceStandalone(_ secret: String, in text: String) -> String {
        var result = ""
        var position = text.startIndex
        for range in text.ranges(of: secret) {
            let before = range.lowerBound > text.startIndex ? text[text.index(before: range.lowerBound)] : nil
            let after = range.upperBound < text.endIndex ? text[range.upperBound] : nil
            guard !(before.map(isWordCharacter) ?? false), !(after.map(isWordCharacter) ?? false) else { continue }
            result += text[position..<range.lowerBound]
            result += replacement
            position = range.upperBound
        }
        result += text[position...]
        return result
    }

    /// Whether `characters` holds `word` (lowercase ASCII) at `index`, in any case.
    private static func matches(_ word: [Character], in characters: [Character], at index: Int) -> Bool {
        guard index + word.count <= characters.count else { return false }
        for offset in 0..<word.count where characters[index + offset].lowercased() != String(word[offset]) {
            return false
        }
        return true
    }

    /// Replaces, after each of `markers` (any case, not inside a word), the value up to one of
    /// `terminators` (characters: `"\r\n"` is one); spaces right after the marker are kept.
    private static func redactValues(
        after markers: [String], until terminators: Set<Character>, in text: String
    ) -> String {
        let characters = Array(text)
        let words = markers.map(Array.init)
        var result = ""
        var index = 0
        while index < characters.count {
            let atWordStart = index == 0 || !(isWordCharacter(characters[index - 1]) || characters[index - 1] == "_")
            if atWordStart, let marker = words.first(where: { matches($0, in: characters, at: index) }) {
                result += String(characters[index..<index + marker.count])
                index += marker.count
                while index < characters.count, characters[index] == " " {
                    result.append(" ")
                    index += 1
                }
                let start = index
                while index < characters.count, !terminators.contains(characters[index]) { index += 1 }
                if index > start { result += replacement }
                continue
            }
            result.append(characters[index])
            index += 1
        }
        return result
    }

    /// Replaces what follows `Authorization:` (any case), up to the end of the header.
    private static func redactAuthorizationValues(in text: String) -> String {
        guard text.lowercased().contains("authorization:") else { return text }
        return redactValues(after: ["authorization:"], until: ["\r", "\n", "\r\n", "\"", "'", ";", ","], in: text)
    }

    /// Replaces the value of each credential query parameter (`token=…`, `jwt=…`).
    private static func redactCredentialParameters(in text: String) -> String {
        guard text.contains("=") else { return text }
        return redactValues(
            after: credentialParameters.map { $0 + "=" },
            until: ["&", "#", " ", "\t", "\r", "\n", "\r\n", "\"", "'", ";", ","],
            in: text)
    }
}

/// The secrets of the connections alive on one event loop, so that the loop's own log lines
/// (those that belong to no connection) are scrubbed like a connection's.
final class LiveSecrets: Sendable {
    private let secrets = LockedState<[ObjectIdentifier: [String]]>([:])

    /// Registers the secrets of `channel` until ``remove(_:)``.
    func add(_ channel: WebSocketChannel) {
        let values = channel.secrets
        secrets.withLock { $0[ObjectIdentifier(channel)] = values }
    }

    /// Forgets the secrets of `channel` (its connection has been released).
    func remove(_ channel: WebSocketChannel) {
        _ = secrets.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// `line` without any live connection's secrets (nor any `Authorization` or credential
    /// parameter value).
    func scrub(_ line: String) -> String {
        let all = secrets.withLock { $0.values.flatMap { $0 } }
        return LogScrubber(secrets: all).scrub(line)
    }
}
