import Testing

@testable import ProgimageCore

/// The contract's timestamps (`created_at`), read back as seconds for dating files.
@Suite struct TimestampTests {
    @Test func readsTheContractsForm() {
        #expect(Timestamp.unixSeconds(of: "1970-01-01T00:00:00Z") == 0)
        #expect(Timestamp.unixSeconds(of: "2026-11-22T18:00:00Z") == 1_795_370_400)
        let now = Timestamp.now()
        #expect(Timestamp.unixSeconds(of: now).map { abs($0 - Timestamp.unixSeconds()) <= 1 } == true)
    }

    @Test(arguments: ["", "2026-11-22 18:00:00Z", "2026-11-22T18:00:00", "2026-11-22T18:00:00+01:00", "２026-11-22T18:00:00Z"])
    func refusesAnythingElse(_ text: String) {
        #expect(Timestamp.unixSeconds(of: text) == nil)
    }
}
