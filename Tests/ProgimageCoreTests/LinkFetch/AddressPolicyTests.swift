@testable import ProgimageDeployment
import Testing

@testable import ProgimageCore

extension Ingest {
    @Suite struct AddressPolicyTests {
        @Test(arguments: [
            "0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.255", "127.0.0.1",
            "127.255.255.254", "169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.1",
            "192.168.1.1", "198.18.0.1", "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.255.255.250",
            "240.0.0.1", "255.255.255.255",
        ])
        func refusedIPv4(text: String) throws {
            let address = try #require(IPAddress(dottedQuad: Substring(text)))
            #expect(AddressPolicy.refusal(for: address) != nil)
        }

        @Test(arguments: [
            "::", "::1", "fc00::1", "fd12:3456::1", "fe80::1", "febf::1", "fec0::1", "ff02::1", "ff0e::1",
            "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:0.0.0.0", "::127.0.0.1",
            "::ffff:0:127.0.0.1", "64:ff9b::127.0.0.1", "64:ff9b::10.0.0.1", "64:ff9b:1::1", "2002:7f00:1::",
            "2002:a00:1::1", "2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:db8::1", "100::1",
            "fbff::1", "fe00::1", "4000::1", "1::1",
        ])
        func refusedIPv6(text: String) throws {
            let address = try #require(IPAddress(ipv6: Substring(text)))
            #expect(AddressPolicy.refusal(for: address) != nil)
        }

        @Test(arguments: [
            "1.1.1.1", "8.8.8.8", "93.184.216.34", "100.63.255.255", "100.128.0.0", "172.15.255.255", "172.32.0.0",
            "192.167.255.255", "192.169.0.0", "169.253.255.255", "223.255.255.255", "9.255.255.255", "11.0.0.0",
        ])
        func publicIPv4(text: String) throws {
            let address = try #require(IPAddress(dottedQuad: Substring(text)))
            #expect(AddressPolicy.refusal(for: address) == nil)
        }

        @Test(arguments: [
            "2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2002:808:808::1",
        ])
        func publicIPv6(text: String) throws {
            let address = try #require(IPAddress(ipv6: Substring(text)))
            #expect(AddressPolicy.refusal(for: address) == nil)
        }

        @Test func reasonsNameTheRange() throws {
            #expect(AddressPolicy.refusal(for: .v4(0x7F00_0001)) == "loopback")
            let mapped = try #require(IPAddress(ipv6: "::ffff:192.168.0.1"))
            #expect(AddressPolicy.refusal(for: mapped) == "IPv4-mapped form of 192.168.0.1, private")
        }
    }
}
