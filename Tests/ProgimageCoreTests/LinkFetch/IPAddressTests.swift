@testable import ProgimageDeployment
import Testing

@testable import ProgimageCore

extension Ingest {
    @Suite struct IPAddressTests {
        /// `inet_aton`'s spellings of 127.0.0.1, as resolvers and browsers have accepted them.
        @Test(arguments: [
            "127.0.0.1", "2130706433", "0x7f000001", "0X7F000001", "0177.0.0.1", "0177.0000.0.01", "127.1",
            "127.0.1", "0x7f.1", "0x7f.0x0.0x0.0x1", "017700000001",
        ])
        func inetAtonSpellingsOfLoopback(text: String) {
            #expect(IPAddress(inetAton: Substring(text)) == .v4(0x7F00_0001))
        }

        @Test(arguments: [
            ("0", 0), ("0x", 0), ("1.2.3.4", 0x0102_0304), ("255.255.255.255", 0xFFFF_FFFF), ("1.16777215", 0x01FF_FFFF),
            ("10.0.65535", 0x0A00_FFFF), ("4294967295", 0xFFFF_FFFF),
        ] as [(String, UInt32)])
        func inetAtonValues(text: String, value: UInt32) {
            #expect(IPAddress(inetAton: Substring(text)) == .v4(value))
        }

        @Test(arguments: [
            "", ".", "1.", "1..2", "1.2.3.4.5", "256.0.0.1", "1.256.0.0", "1.2.65536", "4294967296", "08", "0x1g",
            "0xfffffffff", "1.2.3.-1", "１２７.0.0.1", "99999999999999999999",
        ])
        func inetAtonRefuses(text: String) {
            #expect(IPAddress(inetAton: Substring(text)) == nil)
        }

        @Test(arguments: [
            ("::", "::"), ("::1", "::1"), ("1::", "1::"), ("::ffff:127.0.0.1", "::ffff:7f00:1"),
            ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"), ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("fe80:0:0:0:0:0:0:1", "fe80::1"), ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"), ("1:0:3:4:5:6:7:8", "1:0:3:4:5:6:7:8"),
            ("0001:0002::", "1:2::"), ("::1.2.3.4", "::102:304"), ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
        ])
        func ipv6ParsesAndPrintsCanonically(text: String, canonical: String) {
            let address = IPAddress(ipv6: Substring(text))
            #expect(address?.description == canonical)
            #expect(address == IPAddress(ipv6: Substring(canonical)))
        }

        @Test(arguments: [
            "", ":", ":::", "1:::2", "1::2::3", ":1::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2:3:4:5:6:7:8",
            "12345::", "g::", "::1.2.3", "::1.2.3.256", "::01.2.3.4", "1.2.3.4::", "fe80::1%eth0", "fe80::1%25eth0",
            "::ffff:0x7f.0.0.1",
        ])
        func ipv6Refuses(text: String) {
            #expect(IPAddress(ipv6: Substring(text)) == nil)
        }

        @Test func bytesAndDescriptionsRoundTrip() {
            #expect(IPAddress(bytes: [127, 0, 0, 1]) == .v4(0x7F00_0001))
            #expect(IPAddress(bytes: [127, 0, 0, 1])?.description == "127.0.0.1")
            #expect(IPAddress(bytes: [UInt8](repeating: 0, count: 15) + [1])?.description == "::1")
            #expect(IPAddress(bytes: [1, 2, 3]) == nil)
        }

        @Test func mappedAddressesUnmap() {
            #expect(IPAddress(ipv6: "::ffff:10.1.2.3")?.unmapped == .v4(0x0A01_0203))
            #expect(IPAddress(ipv6: "::10.1.2.3")?.unmapped == IPAddress(ipv6: "::10.1.2.3"))
        }

        @Test func cidrBlocks() throws {
            let block = try #require(CIDR("10.1.2.3/8"))
            #expect(block.description == "10.0.0.0/8")
            #expect(block.contains(.v4(0x0AFF_FFFF)))
            #expect(!block.contains(.v4(0x0B00_0000)))
            #expect(!block.contains(try #require(IPAddress(ipv6: "::ffff:10.0.0.1"))))
            #expect(CIDR("fc00::/7")?.contains(try #require(IPAddress(ipv6: "fdff::1"))) == true)
            #expect(CIDR("[::1]")?.description == "::1/128")
            #expect(CIDR("0.0.0.0/0")?.contains(.v4(0xFFFF_FFFF)) == true)
            for refused in ["10/8", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "0x0a000000/8", "example.com"] {
                #expect(CIDR(Substring(refused)) == nil, "\(refused)")
            }
        }
    }
}
