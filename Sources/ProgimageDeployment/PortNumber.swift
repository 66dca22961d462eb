/// A TCP port as written in a host's `:port`: one to five ASCII digits naming 1–65535.
///
/// One rule for every place a port is read (fetched links, the S3 endpoint, the database
/// URI's hosts, the front door's upstreams): `Int("+80")` is 80, and the upstream list
/// had taken `box1:+80`, which nginx then refused at start.
enum PortNumber {
    static func parse(_ text: Substring) -> Int? {
        guard (1...5).contains(text.count), text.isASCIIDecimal, let number = Int(text), (1...65535).contains(number)
        else { return nil }
        return number
    }
}
