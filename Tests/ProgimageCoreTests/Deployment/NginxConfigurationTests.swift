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
        let site = NginxConfiguration.productionSite(try ServiceConfiguration(environment: [:]))
        var patterns: [(NSRegularExpression, String)] = []
        for line in site.split(separator: "\n") where line.contains("\"~/") {
            let parts = line.trimmingCharacters(in: .whitespaces).split(separator: "\" ")
            let pattern = String(parts[0].dropFirst(2))
            patterns.append((try NSRegularExpression(pattern: pattern), String(parts[1].dropLast())))
        }
        let id = "k3J9x0PqLm2vT8wZ"
        for ops in ["", "/resize:10x", "/resize:10x/grayscale", "/blur:2.5", "/blur:2.5/quality:80", "/crop:0,0,1,1/flip:h/rotate:90",
            "/sharpen:3/quality:5", "/quality:80"]
        {
            let path = "/images/\(id)\(ops)." + (ops.contains("quality") ? "jpg" : "png")
            guard case .derived(_, let chain) = try ImageRequestPath.parse(path) else {
                Issue.record("\(path) did not parse")
                continue
            }
            let range = NSRange(path.startIndex..., in: path)
            let routed = patterns.first { $0.0.firstMatch(in: path, range: range) != nil }?.1 ?? "convert"
            #expect(routed == chain.role.rawValue, "\(path)")
        }
    }
}
