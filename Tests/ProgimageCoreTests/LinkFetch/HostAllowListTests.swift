@testable import ProgimageDeployment
import Testing

@testable import ProgimageCore

extension Ingest {
    @Suite struct HostAllowListTests {
        let list = HostAllowList([
            "images.internal", "Assets.Corp.", " 10.1.2.3 ", "192.168.0.0/16", "fd00::/8", "[::1]", "10/8", "bad host",
            "0x0a000001", "",
        ])

        @Test func namesMatchAsWritten() {
            #expect(list.permits(hostName: "images.internal"))
            #expect(list.permits(hostName: "assets.corp"))
            #expect(!list.permits(hostName: "cdn.images.internal"))
            #expect(!list.permits(hostName: "internal"))
        }

        @Test func addressesAndBlocks() throws {
            #expect(list.permits(.v4(0x0A01_0203)))
            #expect(!list.permits(.v4(0x0A01_0204)))
            #expect(list.permits(.v4(0xC0A8_FFFE)))
            #expect(list.permits(try #require(IPAddress(ipv6: "fd12::1"))))
            #expect(list.permits(try #require(IPAddress(ipv6: "::1"))))
            #expect(list.permits(try #require(IPAddress(ipv6: "::ffff:192.168.3.4"))), "IPv4-mapped form of a listed block")
            #expect(!list.permits(.v4(0x7F00_0001)))
        }

        @Test func looseSpellingsMatchNothing() {
            #expect(list.invalidEntries == ["10/8", "bad host", "0x0a000001"])
            #expect(!list.permits(.v4(0x0A00_0001)), "neither 10/8 nor 0x0a000001 admits 10.0.0.1")
        }
    }
}
