/// The variables of a file in systemd's `EnvironmentFile=` syntax, read as systemd reads
/// it (its `env-file.c` state machine), so that what `make install` writes into the nginx
/// site is what the workers see: `progimage-dev nginx-config --environment-file`.
///
/// `KEY=VALUE` lines; `#` or `;` first on a line starts a comment; blanks around the key and
/// the value are dropped; a value may be quoted, `'…'` verbatim, `"…"` with `\"`, `\\`,
/// `` \` `` and `\$` unescaped (any other escape kept whole); outside quotes a backslash
/// takes the next character as it is, and one ending a line (or a comment) continues it
/// (a comment's continuation as systemd 252, Debian 12's, reads it; 254 ended it there).
/// A line without `=` is ignored, as systemd ignores it; a later assignment wins.
public enum EnvironmentFile {
    public static func parse(_ text: String) -> [String: String] {
        enum State {
            case preKey, key, preValue, value, valueEscape, singleQuoted, doubleQuoted, doubleQuotedEscape, comment,
                commentEscape
        }
        var variables: [String: String] = [:]
        var state = State.preKey
        var key: [Character] = []
        var value: [Character] = []
        // The value's length up to its last character that is not a blank outside quotes.
        var kept = 0

        func finish() {
            let name = String(key).trimmingBlanks()
            if !name.isEmpty { variables[name] = String(value.prefix(kept)) }
            key = []
            value = []
            kept = 0
        }

        for character in text + "\n" {
            switch state {
            case .preKey:
                if character == "#" || character == ";" {
                    state = .comment
                } else if !character.isBlankOrNewline {
                    state = .key
                    key = [character]
                }
            case .key:
                if character.isNewline {
                    state = .preKey  // no "=": ignored
                    key = []
                } else if character == "=" {
                    state = .preValue
                } else {
                    key.append(character)
                }
            case .preValue:
                if character.isNewline {
                    state = .preKey
                    finish()
                } else if character == "'" {
                    state = .singleQuoted
                } else if character == "\"" {
                    state = .doubleQuoted
                } else if character == "\\" {
                    state = .valueEscape
                } else if !character.isBlank {
                    state = .value
                    value.append(character)
                    kept = value.count
                }
            case .value:
                if character.isNewline {
                    state = .preKey
                    finish()
                } else if character == "\\" {
                    state = .valueEscape
                } else {
                    value.append(character)
                    if !character.isBlank { kept = value.count }
                }
            case .valueEscape:
                state = .value
                if !character.isNewline {
                    value.append(character)
                    kept = value.count
                }
            case .singleQuoted:
                if character == "'" {
                    state = .preValue
                } else {
                    value.append(character)
                    kept = value.count
                }
            case .doubleQuoted:
                if character == "\"" {
                    state = .preValue
                } else if character == "\\" {
                    state = .doubleQuotedEscape
                } else {
                    value.append(character)
                    kept = value.count
                }
            case .doubleQuotedEscape:
                state = .doubleQuoted
                if "\"\\`$".contains(character) {
                    value.append(character)
                } else if !character.isNewline {
                    value.append(contentsOf: ["\\", character])
                }
                kept = value.count
            case .comment:
                if character == "\\" {
                    state = .commentEscape
                } else if character.isNewline {
                    state = .preKey
                }
            case .commentEscape:
                state = .comment
            }
        }
        return variables
    }
}

extension Character {
    fileprivate var isBlank: Bool { self == " " || self == "\t" }
    fileprivate var isBlankOrNewline: Bool { isBlank || isNewline }
}

extension String {
    fileprivate func trimmingBlanks() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
