import Foundation
import Testing

@testable import ProgimageServer

@Suite struct OpenAPIDocumentTests {
    /// What the service serves at /openapi.yaml is the committed document.
    @Test func servedDocumentIsTheCommittedOne() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let committed = try String(contentsOf: root.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        #expect(OpenAPIDocument.yaml + "\n" == committed, "run `make openapi` and commit")
    }
}
