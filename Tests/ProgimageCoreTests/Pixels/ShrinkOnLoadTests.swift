import GD
import ProgimageAPI
import Testing

@testable import ProgimageCore

/// JPEG shrink-on-load decodes at 1/2, 1/4 or 1/8 in the DCT domain before the resize;
/// the thumbnail must look the same as one made from a full decode.
///
/// Measured against Pillow's Lanczos of the full image (1800×1200 → 800/400/200/150 wide):
/// shrink-on-load 35.9/34.3/33.4/34.4 dB, full decode 38.8/36.9/35.9/34.7 dB, the two
/// against each other 41.4/40.8/40.4/45.3 dB (37.4 for 300×300 fill). 36 dB is the floor here.
@Suite struct ShrinkOnLoadTests {
    static let file = "jpeg/exif-orientation/Landscape_1.jpg"  // 1800×1200 photograph

    func chain(_ path: String) throws -> OperationChain {
        guard case .derived(_, let chain) = try ImageRequestPath.parse("/images/k3J9x0PqLm2vT8wZ/\(path)") else {
            throw ServiceError(.badRequest, "not a chain")
        }
        return chain
    }

    func render(_ chain: OperationChain, shrink: Int) throws -> [UInt8] {
        let source = ImageSize(width: 1800, height: 1200)
        let decoded = try ImageDecoder.decode(Corpus.bytes(Self.file), format: .jpg, maxPixels: 1 << 30, shrink: shrink)
        let image = try chain.applied(to: decoded, source: source, maximumSide: 8192)
        #expect(try image.width == chain.outputSize(for: source, maximumSide: 8192).width)
        return image.interleaved(alpha: false)
    }

    static func psnr(_ a: [UInt8], _ b: [UInt8]) -> Double {
        let mse = zip(a, b).reduce(0.0) { $0 + pow2(Double($1.0) - Double($1.1)) } / Double(a.count)
        return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
    }

    static func pow2(_ x: Double) -> Double { x * x }

    @Test(arguments: [("resize:400x.png", 4), ("resize:200x.png", 8), ("resize:800x.png", 2), ("resize:300x300,fill.png", 4)])
    func shrunkDecodeMatchesFullDecode(path: String, expectedFactor: Int) throws {
        let chain = try chain(path)
        let factor = chain.shrinkOnLoadFactor(source: ImageSize(width: 1800, height: 1200))
        #expect(factor == expectedFactor)
        let fast = try render(chain, shrink: factor)
        let full = try render(chain, shrink: 1)
        #expect(fast.count == full.count)
        let quality = Self.psnr(fast, full)
        #expect(quality > 36, "PSNR \(quality) dB between shrink-on-load and full decode")
    }

    /// The fused path (DCT-scaled decode resampled straight from TurboJPEG's buffer) must
    /// give exactly the pixels of decoding into libgd first and resampling that.
    @Test(arguments: [(400, 4), (800, 2), (200, 8)])
    func fusedPathMatchesTheGeneralPathExactly(width: Int, shrink: Int) throws {
        let bytes = Corpus.bytes(Self.file)
        let target = ImageSize(width: width, height: width * 2 / 3)
        guard let fused = try ImageDecoder.decodeJPEG(bytes, maxPixels: 1 << 30, shrink: shrink, resizedTo: target) else {
            Issue.record("an upright JPEG did not take the fused path")
            return
        }
        let general = try ImageDecoder.decode(bytes, format: .jpg, maxPixels: 1 << 30, shrink: shrink)
            .scaled(width: target.width, height: target.height)
        #expect(fused.width == target.width && fused.height == target.height)
        #expect(fused.interleaved(alpha: true) == general.interleaved(alpha: true))
    }

    /// EXIF-rotated JPEGs are not for the fused path: orientation must come first.
    @Test func fusedPathDeclinesRotatedJPEGs() throws {
        let rotated = Corpus.bytes("jpeg/exif-orientation/Landscape_6.jpg")
        let result = try ImageDecoder.decodeJPEG(rotated, maxPixels: 1 << 30, shrink: 4, resizedTo: ImageSize(width: 300, height: 200))
        switch consume result {
        case .none: break
        case .some: Issue.record("an EXIF-rotated JPEG took the fused path")
        }
    }

    /// A target larger than the scaled decode (1800 / 8 = 225 wide) is declined before
    /// decoding, not resampled upwards from it.
    @Test(arguments: [(225, 150, true), (226, 150, false), (225, 151, false)])
    func fusedPathDeclinesTargetsPastTheScaledDecode(width: Int, height: Int, fused: Bool) throws {
        let result = try ImageDecoder.decodeJPEG(
            Corpus.bytes(Self.file), maxPixels: 1 << 30, shrink: 8, resizedTo: ImageSize(width: width, height: height))
        switch consume result {
        case .none: #expect(!fused, "\(width)×\(height) declined")
        case .some(let image): #expect(fused && image.width == width && image.height == height)
        }
    }

    @Test func noShrinkWhenTheChainDoesNotStartByShrinking() throws {
        let source = ImageSize(width: 1800, height: 1200)
        #expect(try chain("flip:h/resize:100x.png").shrinkOnLoadFactor(source: source) == 1)
        #expect(try chain("resize:1000x.png").shrinkOnLoadFactor(source: source) == 1)
        #expect(try chain("resize:2000x.png").shrinkOnLoadFactor(source: source) == 1)
        #expect(try chain("crop:0,0,100,100.png").shrinkOnLoadFactor(source: source) == 1)
    }
}

import Foundation
