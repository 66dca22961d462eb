import Testing

import GD
import ProgimageAPI
@testable import WebP
@testable import ProgimageCore

/// The animation path in process: what the GIF walk reads from the container, the WebP
/// writer's change rectangles, and the whole pipeline on seeded mutations of animations.
/// (Frames against an independent reference are held in tests/integration/test_animation.py.)
@Suite struct AnimationTests {
    static let suite = "gif/gif-test-suite/"

    @Test func gifWalkReadsDelaysDisposalsAndLoop() throws {
        let variable = try GIFStructure.validate(Corpus.bytes(Self.suite + "animated_loop_variable_delay.gif"))
        #expect(variable.frames.map(\.delay) == [100, 100, 10, 100])
        #expect(variable.loopCount == 0)
        let once = try GIFStructure.validate(Corpus.bytes(Self.suite + "animated_noloop.gif"))
        #expect(once.loopCount == nil && once.frameCount == 4)
        let previous = try GIFStructure.validate(Corpus.bytes(Self.suite + "animated_transparent_frame_restoreprev_loop.gif"))
        #expect(previous.frames.dropFirst().allSatisfy { $0.disposal == 3 })
    }

    /// Records stop at `recordedFrames`; the count goes on, and the budget refuses it.
    @Test func gifWalkRecordsABoundedNumberOfFrames() throws {
        var bytes = Array("GIF89a".utf8) + [4, 0, 4, 0, 0xF1, 0, 0] + [UInt8](repeating: 0, count: 12)
        let frame: [UInt8] = [0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x4C, 0x01, 0]
        let count = GIFStructure.Layout.recordedFrames + 50
        bytes.reserveCapacity(bytes.count + count * frame.count + 1)
        for _ in 0..<count { bytes += frame }
        bytes.append(0x3B)
        let layout = try GIFStructure.validate(bytes)
        #expect(layout.frameCount == count && layout.frames.count == GIFStructure.Layout.recordedFrames)
        #expect(throws: ServiceError.self) {
            try AnimationBudget(maxFrames: 100_000, maxPixels: 1 << 30).check(frames: layout.frameCount, size: layout.canvas)
        }
    }

    @Test func changedRectangleIsTheSmallestHoldingEveryChange() {
        let (width, height) = (7, 5)
        let old = [UInt8](repeating: 9, count: width * height * 4)
        var new = old
        #expect(WebPAnimationWriter.changedRectangle(from: old, to: new, width: width, height: height) == (0, 0, 1, 1))
        new[(1 * width + 2) * 4 + 3] = 0  // alpha of (2, 1)
        new[(3 * width + 5) * 4] = 0  // red of (5, 3)
        #expect(WebPAnimationWriter.changedRectangle(from: old, to: new, width: width, height: height) == (2, 1, 4, 3))
    }

    @Test func fastWebPFramesDoNotBecomeGIFsSlowestDelay() {
        // Browsers show a GIF delay of 0 or 1 cs as 100 ms.
        #expect([0, 10, 11, 14, 15, 100, 104, 105].map(AnimationEncoder.centiseconds) == [0, 1, 2, 2, 2, 10, 10, 11])
    }

    /// Quantized together with the transparent pixels, near-black opaque pixels of a
    /// many-coloured image could share their palette entry and come out transparent.
    @Test func noOpaquePixelOfAManyColouredImageTurnsTransparentInAGIF() throws {
        var rng = SeededGenerator(seed: 0x61F)
        let (width, height) = (96, 96)
        var rgba = [UInt8](repeating: 0, count: width * height * 4)
        for i in stride(from: 0, to: rgba.count, by: 4) {
            for c in 0..<3 { rgba[i + c] = UInt8.random(in: 0...255, using: &rng) }
            let (x, y) = ((i / 4) % width, (i / 4) / width)
            rgba[i + 3] = (10..<20).contains(x) && (10..<20).contains(y) ? 0 : 255
        }
        let image = try GDImage(width: width, height: height, pixels: rgba, stride: width * 4, layout: .rgba)
        let decoded = try GDImage.decode(try ImageEncoder.encode(image, as: .gif, quality: nil), codec: .gif)
        var wrong = 0
        for y in 0..<height {
            for x in 0..<width {
                let transparent = decoded.pixel(x: x, y: y) >> 24 == 127
                if transparent != ((10..<20).contains(x) && (10..<20).contains(y)) { wrong += 1 }
            }
        }
        #expect(wrong == 0)
    }

    static func render(_ bytes: [UInt8], _ path: String, format: ImageFormat) throws(ServiceError) -> [UInt8] {
        let dot = path.lastIndex(of: ".")!
        let output = ImageFormat(rawValue: String(path[path.index(after: dot)...]))!
        let chain = path.hasPrefix(".")
            ? OperationChain(operations: [], format: output) : try OperationParser.parse(path[..<dot], format: output).chain
        let pipeline = ImagePipeline(maxPixels: 4_000_000, maxOutputSide: 8192)
        let size = try ImageDecoder.decode(bytes, format: format, maxPixels: 4_000_000)
        return try pipeline.render(
            bytes, format: format, source: ImageSize(width: size.width, height: size.height), chain: chain)
    }

    @Test func gifBecomesAWebPAnimationFrameForFrame() throws {
        let gif = Corpus.bytes(Self.suite + "animated_loop_variable_delay.gif")
        let webp = try Self.render(gif, "resize:50x50.webp", format: .gif)
        let reader = try WebPAnimationReader(webp)
        #expect(reader.frameCount == 4 && reader.loopCount == 0 && reader.width == 50)
        var durations: [Int] = []
        while let frame = try reader.nextFrame() { durations.append(frame.durationMilliseconds) }
        #expect(durations == [1000, 1000, 100, 1000])
        #expect(FrameCount.of(try Self.render(webp, "flip:h.gif", format: .webp), format: .gif) == 4)
    }

    enum Outcome: Equatable {
        case refused(ErrorCode)
        case bytes([UInt8])
    }

    static func outcome(_ bytes: [UInt8], _ path: String, format: ImageFormat, scribble: UInt8) -> Outcome {
        // Freed just before the render: malloc hands the same pages back to it.
        var scratch = [UInt8](repeating: scribble, count: 4 << 20)
        scratch[scratch.count - 1] = scribble
        withExtendedLifetime(scratch) {}
        scratch = []
        do {
            return .bytes(try render(bytes, path, format: format))
        } catch {
            return .refused(error.code)
        }
    }

    /// Same bytes, same output, on damaged animations, with the heap scribbled differently
    /// before each render: no frame may show memory a decoder did not write.
    @Test func mutatedAnimationsRenderTheSameTwice() throws {
        let gifs = ["animated_transparent_frame_restoreprev_loop.gif", "animated_loop_interlaced.gif"]
            .map { Corpus.bytes(Self.suite + $0) }
        let webp = try Self.render(gifs[0], "rotate:90.webp", format: .gif)
        let seeds: [([UInt8], ImageFormat)] = [(gifs[0], .gif), (gifs[1], .gif), (webp, .webp)]
        var rng = SeededGenerator(seed: 0xA41_3A7E)
        var rendered = 0
        for iteration in 0..<90 {
            let (seed, format) = seeds[iteration % seeds.count]
            var bytes = seed
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                bytes[Int.random(in: 16..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            let path = iteration % 2 == 0 ? "flip:h.gif" : "resize:40x.webp"
            let outcomes = [Self.outcome(bytes, path, format: format, scribble: 0x5A),
                            Self.outcome(bytes, path, format: format, scribble: 0xA5)]
            if case .bytes = outcomes[0] { rendered += 1 }
            #expect(outcomes[0] == outcomes[1], "iteration \(iteration): two renders of the same bytes differ")
        }
        #expect(rendered > 20)
    }
}
