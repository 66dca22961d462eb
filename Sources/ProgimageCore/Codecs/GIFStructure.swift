import ProgimageAPI

/// Walks a GIF's block structure to its end. libgd decodes only the first frame, so a
/// file cut short in a later frame would otherwise be stored as if it were whole.
/// A missing trailer after a complete last block is tolerated, as browsers do.
///
/// The walk also returns the geometry libgd drops: the logical screen and where the
/// first frame sits on it, which `ImageDecoder` needs to rebuild the canvas.
enum GIFStructure {
    /// A rectangle in screen pixels (GIF stores each side as a little-endian UInt16).
    struct Rect: Equatable, Sendable {
        var left: Int, top: Int, width: Int, height: Int
    }

    struct Layout: Equatable, Sendable {
        /// The logical screen (bytes 6–9), which `ImageHeader.readGIF` reports.
        var screenWidth: Int, screenHeight: Int
        /// The first image descriptor; nil when the file has none.
        var firstFrame: Rect?
        /// Where that descriptor's 0x2C sits in the file.
        var firstFrameOffset = 0
        /// Image descriptors in the file: its frames.
        var frameCount = 0

        /// The image a GIF is: its logical screen, or the first frame's own size when the
        /// screen is 0×0. (`ImageHeader` refuses a 0×0 screen before decoding; this is
        /// the fallback for callers that skip it.)
        var canvas: ImageSize {
            if screenWidth == 0, screenHeight == 0, let frame = firstFrame {
                return ImageSize(width: frame.width, height: frame.height)
            }
            return ImageSize(width: screenWidth, height: screenHeight)
        }

        /// Where the first frame goes on `canvas`: at its own offset, or at the origin when
        /// the canvas fell back to the frame's size.
        var framePosition: (x: Int, y: Int) {
            guard let frame = firstFrame, screenWidth != 0 || screenHeight != 0 else { return (0, 0) }
            return (frame.left, frame.top)
        }

        /// Whether the first frame lies inside the logical screen, the only first frames
        /// libgd 2.3.3's GIF reader accepts.
        var firstFrameFitsScreen: Bool {
            guard let frame = firstFrame else { return false }
            return frame.left + frame.width <= screenWidth && frame.top + frame.height <= screenHeight
        }

        /// `bytes` with the logical screen set to `canvas` and the first frame moved to the
        /// origin, which libgd 2.3.3 then decodes: it reads the screen only to check that
        /// the frame lies inside it, and allocates the frame alone, so the pixels are the
        /// same. The caller puts them back at `framePosition`. Only for a frame no larger
        /// than `canvas` on either side.
        func movingFirstFrameToOrigin(_ bytes: [UInt8]) -> [UInt8] {
            var copy = bytes
            let canvas = self.canvas
            let fields = [(6, canvas.width), (8, canvas.height), (firstFrameOffset + 1, 0), (firstFrameOffset + 3, 0)]
            for (offset, value) in fields {
                copy[offset] = UInt8(truncatingIfNeeded: value)
                copy[offset + 1] = UInt8(truncatingIfNeeded: value >> 8)
            }
            return copy
        }
    }

    @discardableResult
    static func validate(_ bytes: [UInt8]) throws(ServiceError) -> Layout {
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
        while at < bytes.count {
            switch bytes[at] {
            case 0x3B:
                return layout
            case 0x21:
                at += 2
                try skipSubBlocks()
            case 0x2C:
                guard at + 10 <= bytes.count else { throw truncated }
                layout.frameCount += 1
                if layout.firstFrame == nil {
                    layout.firstFrame = Rect(left: u16(at + 1), top: u16(at + 3), width: u16(at + 5), height: u16(at + 7))
                    layout.firstFrameOffset = at
                }
                skipColorTable(flags: bytes[at + 9])
                at += 10 + 1
                try skipSubBlocks()
            default:
                throw ServiceError(.corruptImage, "the gif image has an unknown block")
            }
        }
        guard at == bytes.count else { throw truncated }
        return layout
    }
}
