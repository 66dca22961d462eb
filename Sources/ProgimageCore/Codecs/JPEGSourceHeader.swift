package import ProgimageAPI

/// What a JPEG original's header says that the pipeline's choice of path depends on, read
/// once a render: its stored size, its EXIF orientation and how far its chroma lets it be
/// shrunk on load. Each is a walk of the segments before the first scan (microseconds);
/// the paths had each walked them again for the same answers. (The decoders the chosen
/// path then calls still read the orientation and size for themselves.)
package struct JPEGSourceHeader: Sendable {
    /// The size in the frame header, before the EXIF orientation.
    package let stored: ImageSize
    package let orientation: ExifOrientation
    /// `JPEGChromaSampling.largestFaithfulShrink`.
    package let largestFaithfulShrink: Int

    package init(_ original: [UInt8]) throws(ServiceError) {
        stored = try ImageDecoder.storedSize(of: original, format: .jpg)
        orientation = ExifOrientation.read(from: original, format: .jpg)
        largestFaithfulShrink = JPEGChromaSampling.largestFaithfulShrink(original)
    }

    /// The DCT scale the original is decoded at for `chain`: as small as its first resize
    /// allows (`shrinkOnLoadFactor`), but no smaller than keeps its chroma sharp
    /// (`JPEGChromaSampling`), and for an EXIF-turned file only a scale that leaves no
    /// partial block: it is turned after the decode, which can bring the partial last
    /// block to the first row or column, where `dctScaledExtent` does not describe it
    /// (camera sides are multiples of 16; 1601 px is decoded whole).
    package func shrink(source: ImageSize, chain: OperationChain) -> Int {
        var shrink = min(chain.shrinkOnLoadFactor(source: source), largestFaithfulShrink)
        if orientation != .up {
            while shrink > 1, stored.width % shrink != 0 || stored.height % shrink != 0 { shrink /= 2 }
        }
        return max(1, shrink)
    }
}
