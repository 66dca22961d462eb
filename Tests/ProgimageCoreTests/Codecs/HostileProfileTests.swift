import Foundation
import Testing

import GD
import ProgimageAPI
@testable import ProgimageCore

/// An embedded colour profile is untrusted bytes like the rest of the file: whatever its
/// curves evaluate to, the decode converts or refuses, and never traps.
@Suite struct HostileProfileTests {
    @Test func aToneCurveThatEvaluatesToNaNDoesNotStopTheProcess() throws {
        let url = Corpus.packageRoot.appendingPathComponent("Tests/ProgimageCoreTests/Fixtures/heic-nan-tone-curve.heic")
        let bytes = [UInt8](try Data(contentsOf: url))
        #expect(FormatSniffer.sniff(bytes) == .heic)
        // Before the fix this trapped inside the matrix-shaper transform (`Int(NaN)`).
        do {
            let image = try ImageDecoder.decode(bytes, format: .heic, maxPixels: 1 << 24)
            #expect(image.width > 0 && image.height > 0)
        } catch {
            #expect([ErrorCode.corruptImage, .imageTooLarge].contains(error.code))
        }
    }
}
