extension StringProtocol {
    /// The text without leading and trailing characters of `set` (e.g. `" \t"`): the one
    /// trimming used for configuration lists, `Accept` ranges and preset definitions.
    public func trimming(_ set: String) -> String {
        var s = Substring(self)
        while let first = s.first, set.contains(first) { s = s.dropFirst() }
        while let last = s.last, set.contains(last) { s = s.dropLast() }
        return String(s)
    }
}
