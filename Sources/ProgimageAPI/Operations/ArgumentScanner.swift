/// Number parsing shared by the operations, strict about the grammar and tolerant of
/// non-canonical spellings, which the chain reprints canonically (→ 301).
enum ArgumentScanner {
    /// The most significant digits an integer argument may have. A number is a number
    /// however large, so that `resize:1000000000x` is over the output limit (422) and
    /// `crop:0,0,1000000000,10` is intersected with the image, as their 9-digit cousins are;
    /// 18 digits stay below 10¹⁸, where a sum of two (a crop's x + w) cannot overflow
    /// `Int`; a side times a scale is clamped (`ResizeOperation.scaled`), and every size is
    /// held to the output limit before two sides are multiplied.
    static let maximumDigits = 18

    /// A decimal integer of at most `maximumDigits` significant digits; leading zeros and a
    /// `+` are valid but not canonical, a `-` only where `allowNegative` (rotate).
    static func integer(_ text: Substring, allowNegative: Bool = false) -> Int? {
        var digits = text
        var negative = false
        if let first = digits.first, first == "+" || (allowNegative && first == "-") {
            negative = first == "-"
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let significant = digits.drop { $0 == "0" }
        guard significant.count <= maximumDigits else { return nil }
        let value = significant.isEmpty ? 0 : Int(significant)!
        return negative ? -value : value
    }

    /// A plain decimal (`2`, `2.5`, `02.50`, `.5`): digits with at most one point, no
    /// exponent, at most 3 decimal places that are not trailing zeros (`1.0000` is `1`, a
    /// valid spelling answered 301, as `1.000` was; it had been 400); a `+` is valid but not
    /// canonical, as for integers (`blur:+1` answered 400 where `resize:+100x` answered 301).
    /// Leading zeros of the whole part and trailing ones of the fraction are spelling only,
    /// however many, as an integer's leading zeros are (past 12 characters in all they had
    /// been 400, found by a black-box probe).
    static func decimal(_ signed: Substring) -> Double? {
        let text = signed.first == "+" ? signed.dropFirst() : signed
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let isDigit: (Character) -> Bool = { $0.isASCII && $0.isNumber }
        guard parts.allSatisfy({ $0.allSatisfy(isDigit) }), parts.contains(where: { !$0.isEmpty }) else { return nil }
        let whole = parts[0].drop { $0 == "0" }
        let fraction = parts.count == 2 ? Substring(parts[1].reversed().drop { $0 == "0" }.reversed()) : ""
        // Nine whole digits: `canonical` prints thousandths in an Int (a check for the
        // operation's own range comes after).
        guard whole.count <= 9, fraction.count <= 3 else { return nil }
        return Double((whole.isEmpty ? "0" : whole) + (fraction.isEmpty ? "" : "." + fraction))
    }

    /// The canonical print of a decimal: shortest form, no trailing zeros (`2.5`, `3`).
    static func canonical(_ value: Double) -> String {
        let thousandths = Int((value * 1000).rounded())
        let whole = thousandths / 1000
        var fraction = thousandths % 1000
        if fraction == 0 { return String(whole) }
        var digits = 3
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        let padded = String(repeating: "0", count: digits - String(fraction).count) + String(fraction)
        return "\(whole).\(padded)"
    }
}
