import ProgimageAPI

/// Walks a GIF's block structure to its end. libgd decodes only the first frame, so a
/// file cut short in a later frame would otherwise be stored as if it were whole.
/// A missing trailer after a complete last block is tolerated, as browsers do, except
/// where it betrays a cut animation (a loop count and a single frame).
///
/// The walk also returns what libgd drops: the logical screen and where each frame sits
/// on it, each frame's delay and disposal, and the loop count, which `ImageDecoder` needs
/// to rebuild the canvas and `GIFFrames` to play the animation.
enum GIFStructure {
    /// A rectangle in screen pixels (GIF stores each side as a little-endian UInt16).
    struct Rect: Equatable, Sendable {
        var left: Int, top: Int, width: Int, height: Int
    }

    /// One image descriptor with the graphic control extension before it.
    struct Frame: Equatable, Sendable {
        var rect: Rect
        /// The descriptor's 0x2C up to the end of its image data (the empty sub-block).
        var descriptor: Range<Int>
        /// The graphic control extension that applies to this frame, whole.
        var control: Range<Int>?
        /// What happens to the frame's rectangle before the next frame: 0–1 nothing,
        /// 2 cleared, 3 restored to what it was before this frame.
        var disposal = 0
        /// Centiseconds.
        var delay = 0
        /// Rows stored in GIF's four passes rather than top to bottom.
        var interlaced = false

        /// Where each stored row of an interlaced frame belongs: every 8th row from 0, every
        /// 8th from 4, every 4th from 2, every 2nd from 1 (GIF89a, appendix E); a frame
        /// shorter than 5 rows leaves some passes empty.
        var interlacedRowDestinations: [Int] {
            [(0, 8), (4, 8), (2, 4), (1, 2)].flatMap { start, step in Array(Swift.stride(from: start, to: rect.height, by: step)) }
        }
    }

    struct Layout: Equatable, Sendable {
        /// The logical screen (bytes 6–9), which `ImageHeader.readGIF` reports.
        var screenWidth: Int, screenHeight: Int
        /// The first image descriptor; nil when the file has none.
        var firstFrame: Rect?
        /// The image descriptors, in order: the frames. Kept for the first
        /// `recordedFrames` only (`PROGIMAGE_MAX_FRAMES` allows no more): a 50 MB file of
        /// 12-byte frames made 3.3 million records, 748 MB, before its count was refused.
        var frames: [Frame] = []
        /// Every image descriptor, recorded or not.
        var frameCount = 0
        /// The frames' own rectangles, summed (saturating): what decoding them all allocates,
        /// which a small canvas does not bound (libgd allocates a frame whole, even one
        /// outside the canvas).
        var frameArea = 0
        /// The largest frame's rectangle (saturating): held to the source pixel limit, as
        /// decoding that frame would be.
        var largestFrameArea = 0
        /// With pixels counted (`countingPixelsUpTo`): why the first frame whose compressed
        /// data does not reach its last pixel is damaged; nil when every counted frame is
        /// whole. Recorded, not thrown, so that a caller answers the limits first.
        var imageDataProblem: String?
        /// The NETSCAPE2.0 (or ANIMEXTS1.0) loop count, 0 for forever; nil without one
        /// (the animation plays once).
        var loopCount: Int?
        /// The header, logical screen descriptor and global colour table.
        var preamble = 0..<13

        /// More than the largest `PROGIMAGE_MAX_FRAMES` allows.
        static let recordedFrames = 100_001

        /// The image a GIF is: its logical screen, enlarged to contain the first frame
        /// where that frame reaches past it (the contract's rule, as browsers and Pillow).
        var canvas: ImageSize {
            guard let frame = firstFrame else { return ImageSize(width: screenWidth, height: screenHeight) }
            return ImageSize(
                width: max(screenWidth, frame.left + frame.width), height: max(screenHeight, frame.top + frame.height))
        }

        /// Where the first frame goes on `canvas`: at its own offset.
        var framePosition: (x: Int, y: Int) {
            guard let frame = firstFrame else { return (0, 0) }
            return (frame.left, frame.top)
        }

        /// Whether the first frame lies inside the logical screen, the only first frames
        /// libgd 2.3.3's GIF reader accepts.
        var firstFrameFitsScreen: Bool {
            guard let frame = firstFrame else { return false }
            return frame.left + frame.width <= screenWidth && frame.top + frame.height <= screenHeight
        }

        /// A GIF of `frame` alone on a screen of its own size, at the origin, with its
        /// graphic control extension (transparency) and the global colour table: what
        /// libgd 2.3.3, which reads only a first frame, decodes for any frame. Its rows are
        /// marked sequential even when they are interlaced (`ImageDecoder.decodeGIFFrame`
        /// puts them in place).
        func singleFrameFile(_ frame: Frame, of bytes: [UInt8]) -> [UInt8] {
            var file = Array(bytes[preamble])
            file.replaceSubrange(0..<6, with: "GIF89a".utf8)
            for (offset, value) in [(6, frame.rect.width), (8, frame.rect.height)] {
                file[offset] = UInt8(truncatingIfNeeded: value)
                file[offset + 1] = UInt8(truncatingIfNeeded: value >> 8)
            }
            if let control = frame.control { file += bytes[control] }
            let start = file.count
            file += bytes[frame.descriptor]
            file.replaceSubrange(start + 1..<start + 5, with: [0, 0, 0, 0])
            file[start + 9] &= ~0x40
            file.append(0x3B)
            return file
        }
    }

    /// `countingPixelsUpTo`: also whether the compressed data of each frame of at most that
    /// many pixels reaches its last pixel (`GIFImageData`, into `imageDataProblem`), which an
    /// upload must prove and a decode need not repeat (a larger frame is the pixel limit's
    /// to refuse).
    @discardableResult
    static func validate(_ bytes: [UInt8], countingPixelsUpTo limit: Int? = nil) throws(ServiceError) -> Layout {
        try walk(bytes, countingPixelsUpTo: limit)
    }

    /// A view whose indices start at 0 (a whole file's) is walked in place; any other is
    /// copied first.
    static func validate(_ bytes: ArraySlice<UInt8>) throws(ServiceError) -> Layout {
        bytes.startIndex == 0 ? try walk(bytes, countingPixelsUpTo: nil) : try walk(Array(bytes), countingPixelsUpTo: nil)
    }

    /// Indices are offsets: `bytes.startIndex` is 0.
    private static func walk<Bytes: RandomAccessCollection<UInt8>>(
        _ bytes: Bytes, countingPixelsUpTo limit: Int?
    ) throws(ServiceError) -> Layout where Bytes.Index == Int {
        let truncated = ServiceError(.corruptImage, "the gif image is truncated")
        var at = 13
        guard bytes.count >= at else { throw truncated }
        func u16(_ offset: Int) -> Int { Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 }
        var layout = Layout(screenWidth: u16(6), screenHeight: u16(8), firstFrame: nil)
        func skipColorTable(flags: UInt8) {
            if flags & 0x80 != 0 { at += 3 << (Int(flags & 7) + 1) }
        }
        func skipSubBlocks() throws(ServiceError) {
            while true {
                guard at < bytes.count else { throw truncated }
                let length = Int(bytes[at])
                at += 1 + length
                if length == 0 { return }
            }
        }
        skipColorTable(flags: bytes[10])
        guard at <= bytes.count else { throw truncated }
        layout.preamble = 0..<at
        var control: Range<Int>?
        while at < bytes.count {
            switch bytes[at] {
            case 0x3B:
                return layout
            case 0x21:
                let start = at
                guard at + 1 < bytes.count else { throw truncated }
                let label = bytes[at + 1]
                at += 2
                try skipSubBlocks()
                if label == 0xF9, at - start >= 8, bytes[start + 2] >= 4 {
                    control = start..<at
                } else if label == 0x01 {
                    control = nil  // a plain-text block is the rendering block a control applies to
                } else if label == 0xFF, at - start >= 19, bytes[start + 2] == 11,
                    bytes[start + 3..<start + 14].elementsEqual("NETSCAPE2.0".utf8)
                        || bytes[start + 3..<start + 14].elementsEqual("ANIMEXTS1.0".utf8),
                    bytes[start + 14] >= 3, bytes[start + 15] == 1
                {
                    layout.loopCount = u16(start + 16)
                }
            case 0x2C:
                guard at + 10 <= bytes.count else { throw truncated }
                let start = at
                let rect = Rect(left: u16(at + 1), top: u16(at + 3), width: u16(at + 5), height: u16(at + 7))
                if layout.firstFrame == nil { layout.firstFrame = rect }
                skipColorTable(flags: bytes[at + 9])
                at += 10 + 1
                let dataStart = at
                try skipSubBlocks()
                var frame = Frame(rect: rect, descriptor: start..<at, control: control)
                frame.interlaced = bytes[start + 9] & 0x40 != 0
                if let control {
                    frame.disposal = Int(bytes[control.lowerBound + 3] >> 2) & 7
                    frame.delay = u16(control.lowerBound + 4)
                }
                layout.frameCount += 1
                let (area, overflow) = rect.width.multipliedReportingOverflow(by: rect.height)
                layout.frameArea = overflow ? .max : layout.frameArea.addingReportingOverflow(area).overflow ? .max : layout.frameArea + area
                layout.largestFrameArea = max(layout.largestFrameArea, overflow ? .max : area)
                if let limit, !overflow, area <= limit, layout.imageDataProblem == nil {
                    switch GIFImageData.pixelCount(
                        minimumCodeSize: Int(bytes[dataStart - 1]), subBlocks: bytes, from: dataStart, upTo: area)
                    {
                    case .pixels(let count) where count < area:
                        layout.imageDataProblem =
                            "the gif image data of frame \(layout.frameCount) ends after \(count) of its \(area) pixels"
                    case .invalidCode:
                        layout.imageDataProblem = "the gif image data of frame \(layout.frameCount) is damaged"
                    default:
                        break
                    }
                }
                if layout.frames.count < Layout.recordedFrames { layout.frames.append(frame) }
                control = nil
            default:
                throw ServiceError(.corruptImage, "the gif image has an unknown block")
            }
        }
        guard at == bytes.count else { throw truncated }
        // No trailer, and an animation (it carries a loop count) of one frame: cut just after
        // its first frame, where a trailer or the next frame's blocks were due. A still GIF
        // without a trailer, or an animation whose frames all arrived, stays tolerated.
        if layout.loopCount != nil, layout.frameCount == 1 {
            throw ServiceError(.corruptImage, "the gif animation is cut after its first frame")
        }
        return layout
    }
}
