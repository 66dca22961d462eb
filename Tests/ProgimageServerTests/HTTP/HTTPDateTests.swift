import Testing

@testable import ProgimageServer

/// nginx's date reading, as `HTTPDate.parse` ports it: the three forms RFC 9110 has a
/// recipient accept, and the checks nginx makes (the integration suite compares the answers
/// with nginx's own for a file).
@Suite struct HTTPDateTests {
    static let moment = 1_796_691_723  // Tue, 08 Dec 2026 01:02:03 GMT

    @Test func readsWhatItWrites() {
        #expect(HTTPDate.format(Self.moment) == "Tue, 08 Dec 2026 01:02:03 GMT")
        for seconds in [0, 951_782_400, 1_709_164_800, Self.moment, 4_102_444_799] {
            #expect(HTTPDate.parse(HTTPDate.format(seconds)) == seconds)
        }
    }

    @Test(arguments: [
        "Tue, 08 Dec 2026 01:02:03 GMT", "Tuesday, 08-Dec-26 01:02:03 GMT", "Tue Dec  8 01:02:03 2026",
        "Tue Dec 8 01:02:03 2026", "Xyz, 08 Dec 2026 01:02:03 GMT",  // nginx checks no weekday
        "Tue,   08 Dec 2026 01:02:03 anything",
    ])
    func readsEachForm(text: String) {
        #expect(HTTPDate.parse(text) == Self.moment)
    }

    @Test(arguments: [
        "", "yesterday", "Tue, 08 Dec 2026 24:02:03 GMT", "Tue, 32 Dec 2026 01:02:03 GMT",
        "Sun, 29 Feb 2026 01:02:03 GMT", "Sun, 29 Feb 1900 01:02:03 GMT", "Tue, 08 Xyz 2026 01:02:03 GMT",
        "Tue, 08 Dec 26 01:02:03 GMT", "Tue, 08-Dec-2026 01:02:03 GMT", "Tue, 08 Dec 2026 01:02",
    ])
    func refusesWhatNginxRefuses(text: String) {
        #expect(HTTPDate.parse(text) == nil)
    }

    @Test func leapDaysOfLeapYears() {
        #expect(HTTPDate.parse("Tue, 29 Feb 2000 00:00:00 GMT") == 951_782_400)
        #expect(HTTPDate.parse("Thu, 29 Feb 2024 00:00:00 GMT") == 1_709_164_800)
    }
}

@Suite struct ByteRangeRequestTests {
    func parts(_ header: String, _ length: Int = 100) -> ByteRangeRequest.Outcome {
        ByteRangeRequest.outcome(["range": header], etag: "\"e\"", lastModified: 0, length: length)
    }

    @Test func rangesAsNginxReadsThem() {
        #expect(parts("bytes=0-1,5-6") == .parts([0..<2, 5..<7]))
        #expect(parts("bytes=-16") == .parts([84..<100]))
        #expect(parts("bytes=90-") == .parts([90..<100]))
        #expect(parts("bytes=5-9223372036854775807") == .parts([5..<100]))
        #expect(parts("BYTES= 3 - 7") == .parts([3..<8]))
        #expect(parts("bytes=9-0") == .unsatisfiable)
        #expect(parts("bytes=100-") == .unsatisfiable)
        #expect(parts("bytes=abc") == .unsatisfiable)
        #expect(parts("bytes=99999999999999999999-") == .unsatisfiable)
        #expect(parts("bytes=-0") == .unsatisfiable)  // a suffix of nothing
        #expect(parts("bytes=0-,0-") == .whole)  // more than the file
        #expect(parts("items=0-1") == .whole)
        #expect(parts("bytes=0-0,200-") == .parts([0..<1]))
    }

    @Test func ifRangeNamesTheFileByTagOrDate() {
        let headers = ["range": "bytes=1-2"]
        #expect(ByteRangeRequest.outcome(headers.merging(["if-range": "\"e\""]) { $1 }, etag: "\"e\"", lastModified: 0, length: 9) == .parts([1..<3]))
        #expect(ByteRangeRequest.outcome(headers.merging(["if-range": "\"f\""]) { $1 }, etag: "\"e\"", lastModified: 0, length: 9) == .whole)
        let date = HTTPDate.format(HTTPDateTests.moment)
        #expect(ByteRangeRequest.outcome(headers.merging(["if-range": date]) { $1 }, etag: "\"e\"", lastModified: HTTPDateTests.moment, length: 9) == .parts([1..<3]))
        #expect(ByteRangeRequest.outcome(headers.merging(["if-range": date]) { $1 }, etag: "\"e\"", lastModified: HTTPDateTests.moment + 1, length: 9) == .whole)
    }
}

@Suite struct ConditionalRequestTests {
    let etag = "\"6b17546b-929c1\""
    let modified = HTTPDateTests.moment

    func outcome(_ headers: [String: String]) -> ConditionalRequest.Outcome {
        ConditionalRequest.outcome(headers, etag: etag, lastModified: modified)
    }

    @Test func nginxsOrderAndRules() {
        let date = HTTPDate.format(modified)
        #expect(outcome([:]) == .send)
        #expect(outcome(["if-none-match": "\"a\", W/\(etag) "]) == .notModified)
        #expect(outcome(["if-none-match": "\"a\""]) == .send)
        #expect(outcome(["if-modified-since": date]) == .notModified)
        #expect(outcome(["if-modified-since": HTTPDate.format(modified + 9)]) == .notModified)  // `before`
        #expect(outcome(["if-modified-since": HTTPDate.format(modified - 1)]) == .send)
        #expect(outcome(["if-modified-since": "garbage"]) == .send)
        #expect(outcome(["if-modified-since": date, "if-none-match": "\"a\""]) == .send)  // both must hold
        #expect(outcome(["if-match": etag]) == .send)
        #expect(outcome(["if-match": "W/\(etag)"]) == .preconditionFailed)  // strong comparison
        #expect(outcome(["if-match": "*"]) == .send)
        #expect(outcome(["if-unmodified-since": HTTPDate.format(modified - 1)]) == .preconditionFailed)
        #expect(outcome(["if-unmodified-since": "garbage"]) == .preconditionFailed)
        #expect(outcome(["if-unmodified-since": date, "if-none-match": etag]) == .notModified)
    }
}
