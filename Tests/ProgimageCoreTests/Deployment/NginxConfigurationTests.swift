@testable import ProgimageDeployment
import Foundation
import ProgimageAPI
import Testing

@testable import ProgimageCore

@Suite struct NginxConfigurationTests {
    /// The committed production site is generated (`make nginx-site`); it must be what the
    /// code renders today, or production and development routing have drifted apart.
    @Test func committedProductionSiteIsCurrent() throws {
        let committed = try String(
            contentsOf: Corpus.packageRoot.appendingPathComponent("nginx/progimage.conf"), encoding: .utf8)
        let rendered = NginxConfiguration.productionSite(try ServiceConfiguration(environment: [:]))
        #expect(committed == rendered, "run `make nginx-site` and commit nginx/progimage.conf")
    }

    /// The committed front-door example (`make nginx-site`, two example boxes) is current.
    @Test func committedFrontSiteIsCurrent() throws {
        let committed = try String(
            contentsOf: Corpus.packageRoot.appendingPathComponent("nginx/progimage-front.conf"), encoding: .utf8)
        let config = try ServiceConfiguration(environment: ["PROGIMAGE_FRONT_UPSTREAMS": NginxConfiguration.exampleFrontUpstreams])
        #expect(committed == NginxConfiguration.frontSite(config), "run `make nginx-site` and commit nginx/progimage-front.conf")
    }

    /// Every operation in the catalog has a routing line and an upstream, so adding an
    /// operation is one type plus one catalog line.
    @Test func everyRoleIsRouted() throws {
        let site = NginxConfiguration.productionSite(try ServiceConfiguration(environment: [:]))
        for role in TransformRole.all {
            #expect(site.contains("upstream progimage_\(role) {"))
            #expect(site.contains("/run/progimage/\(role).sock"))
        }
        for operation in OperationCatalog.all {
            #expect(site.contains("\"~/\(operation.name)(?::[^/]*)?(?:/quality:[^/]*)?\\.[A-Za-z0-9]+$\" \(operation.name);"))
        }
    }

    /// The routing map must send a URL to the same role the worker computes for it.
    @Test func mapAgreesWithTheParser() throws {
        try expectMapAgreesWithTheParser(
            environment: [:],
            ops: [
                "", "/resize:10x", "/resize:10x/grayscale", "/blur:2.5", "/blur:2.5/quality:80", "/crop:0,0,1,1/flip:h/rotate:90",
                "/sharpen:3/quality:5", "/quality:80",
            ])
    }

    /// …presets too: nginx cannot expand them, so the map knows each one's last pixel
    /// operation, and passes over one that has none as it passes over `quality` (a
    /// `flip:h/preset:q` went to `convert`, which answered 421).
    @Test func mapAgreesWithTheParserOnPresets() throws {
        try expectMapAgreesWithTheParser(
            environment: ["PROGIMAGE_PRESETS": "q=quality:20;q-2=quality:40;thumb=resize:20x20,fill/quality:70;gray=grayscale;up=flip:h/resize:9x"],
            ops: [
                "/flip:h/preset:q", "/grayscale/preset:q-2", "/resize:10x/preset:q", "/preset:q", "/preset:thumb",
                "/preset:thumb/rotate:90", "/rotate:90/preset:thumb", "/preset:gray/preset:q", "/preset:q/blur:1",
                "/preset:q/preset:up", "/preset:up/preset:q", "/preset:gray/quality:5", "/crop:0,0,5,5/preset:q",
            ])
    }

    private func expectMapAgreesWithTheParser(environment: [String: String], ops: [String]) throws {
        let config = try ServiceConfiguration(environment: environment)
        let site = NginxConfiguration.productionSite(config)
        var patterns: [(NSRegularExpression, String)] = []
        for line in site.split(separator: "\n") where line.contains("\"~/") {
            let parts = line.trimmingCharacters(in: .whitespaces).split(separator: "\" ")
            let pattern = String(parts[0].dropFirst(2))
            patterns.append((try NSRegularExpression(pattern: pattern), String(parts[1].dropLast())))
        }
        let id = "k3J9x0PqLm2vT8wZ"
        for ops in ops {
            let path = "/images/\(id)\(ops)." + (ops.contains("quality") || ops.contains("preset") ? "jpg" : "png")
            guard case .derived(_, let chain) = try ImageRequestPath.parse(path, presets: config.presets) else {
                Issue.record("\(path) did not parse")
                continue
            }
            let range = NSRange(path.startIndex..., in: path)
            let routed = patterns.filter { $0.0.firstMatch(in: path, range: range) != nil }.map(\.1)
            #expect(routed.count <= 1, "\(path) matches \(routed)")
            #expect((routed.first ?? "convert") == chain.role.rawValue, "\(path)")
        }
    }
}
