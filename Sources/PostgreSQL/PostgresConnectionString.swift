internal import CPostgres

/// A libpq connection string (a URI or `key=value` words), judged by libpq's own parser
/// before any connection is tried: a bad percent-encoding (`%zz`), a parameter libpq does
/// not know (`?bogus=1`) or a number that is not one (`keepalives=abc`) had started a box
/// that refused every write as if the database were down, libpq's complaint only in the
/// log of each attempt.
public enum PostgresConnectionString {
    /// The parameters libpq 15 reads as integers (`PQconninfoParse` keeps any text).
    static let integerKeywords: Set<String> = [
        "connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
    ]

    /// What is wrong with `text`, or nil when libpq parses it. Never the value itself, nor
    /// libpq's message, which quotes the bad part: it may be a password.
    public static func problem(in text: String) -> String? {
        var message: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(text, &message) else {
            if let message { PQfreemem(message) }
            return "a URI libpq parses (its syntax, percent-encoding and parameter names)"
        }
        defer { PQconninfoFree(options) }
        var option = options
        while let keyword = option.pointee.keyword {
            let name = String(cString: keyword)
            if integerKeywords.contains(name), let value = option.pointee.val, Int(String(cString: value)) == nil {
                return "\(name) an integer"
            }
            option += 1
        }
        return nil
    }
}
